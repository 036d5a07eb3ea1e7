from litcomp.kit.db import run_alembic_env
from litcomp.users.models import Base

run_alembic_env(Base.metadata)
