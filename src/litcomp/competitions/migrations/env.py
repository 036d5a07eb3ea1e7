from litcomp.competitions.models import Base
from litcomp.kit.db import run_alembic_env

run_alembic_env(Base.metadata)
