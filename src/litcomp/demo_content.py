"""The sample platform ``litcomp demo`` writes: writers, competitions, stories, comments.

Written for litcomp (no lorem ipsum), so that a newcomer reads something worth reading.
Each competition says which phase it shows; demo.py turns that into dates.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Writer:
    username: str
    bio: str


@dataclass(frozen=True)
class Story:
    writer: str  # a Writer's username
    title: str
    content: str  # Markdown
    liked_by: tuple[str, ...] = ()
    comments: tuple[tuple[str, str], ...] = ()  # (writer, words); the second replies to the first


@dataclass(frozen=True)
class Contest:
    phase: str  # "finished", "voting", "open", "upcoming"
    title: str
    description: str
    prompt: str
    tags: tuple[str, ...]
    anonymous: bool = False
    voting: bool = False  # a voting phase after the entries close
    word_max: int | None = None
    stories: tuple[Story, ...] = field(default_factory=tuple)


WRITERS = (
    Writer(
        "marta_quill",
        "Writes ferry timetables by day and ghost stories by night, within earshot of the tide.",
    ),
    Writer(
        "oskar.brandt",
        "Retired schoolteacher. Mends broken clocks and collects the stories that come with them.",
    ),
    Writer(
        "ines-ferreira",
        "Translates between Portuguese and English, and now and then between people.",
    ),
    Writer(
        "theo_ng", "Night-shift nurse. Writes in the small hours, mostly about the small hours."
    ),
    Writer(
        "ada_lindqvist", "Draws maps of places that ought to exist and writes down who lives there."
    ),
)

CONTESTS = (
    Contest(
        phase="finished",
        title="The Last Lighthouse",
        description="Stories about keeping a light that nobody needs any more.",
        prompt="A lighthouse that no ship needs any more. Who still keeps it, and why?",
        tags=("sea", "solitude"),
        stories=(
            Story(
                "marta_quill",
                "The Keeper's Arithmetic",
                "Every night Agnes climbs the hundred and twelve steps and lights a lamp for ships "
                "that stopped coming in 1987.\n\nShe keeps a ledger anyway. *Vessels sighted: 0.* "
                "*Vessels saved: unknown.* Her nephew says the second column is a cheat.\n\n"
                "\"You can't count what didn't happen,\" he says.\n\n"
                'Agnes turns the page. "That," she says, "is the only thing a lighthouse has '
                'ever counted."',
                liked_by=("oskar.brandt", "ines-ferreira", "theo_ng", "ada_lindqvist"),
                comments=(
                    ("theo_ng", "The ledger line made me put my phone down for a minute."),
                    ("marta_quill", "Thank you. Night shifts have their own ledger, I suspect."),
                ),
            ),
            Story(
                "oskar.brandt",
                "Automatic",
                "They automated the light in the spring. A grey box on the gallery rail, a "
                "solar panel, a modem that blinked green.\n\nHenrik stayed on because nobody "
                "told him to leave. He polished the lens the box did not need polished and "
                "wound the clock the box did not read.\n\nIn November the modem blinked red "
                "for three nights. Henrik lit the old wick and said nothing to anybody.",
                liked_by=("marta_quill", "ada_lindqvist"),
            ),
            Story(
                "ines-ferreira",
                "Two Lights",
                "My grandmother kept the light on one side of the bay and a man she never spoke "
                "to kept the light on the other. For forty years they flashed at each other, "
                "four seconds and six.\n\nWhen he died, the other light went dark, and she "
                "changed her rhythm to six. The harbour master called it a fault. I have the "
                "logbook. It was not a fault.",
                liked_by=("marta_quill", "theo_ng", "oskar.brandt"),
            ),
            Story(
                "ada_lindqvist",
                "Charted",
                "The new charts left the lighthouse off. Not the rock, not the reef: just the "
                "light, as if a thing that guides nobody stops being a thing.\n\nSo Rut drew it "
                "back in, with a pen, on every chart in the harbour office, a small star and "
                "the words *still here*.",
                liked_by=("ines-ferreira",),
            ),
        ),
    ),
    Contest(
        phase="finished",
        title="Letters Never Sent",
        description="Anonymous until the results, then read by everyone.",
        prompt="Write a letter its writer never posted. Let the reader work out why.",
        tags=("letters", "anonymous"),
        anonymous=True,
        voting=True,
        stories=(
            Story(
                "theo_ng",
                "To the Patient in Bed Nine",
                "You asked me at 3 a.m. whether I was afraid of dying and I said I was too busy. "
                "That was not true. I was afraid the whole shift, and you were the only one who "
                "asked.\n\nYou went home on Thursday. I am glad. I am keeping this letter, "
                "because nurses are not supposed to write them, and because you might answer.",
                liked_by=("marta_quill", "ines-ferreira", "ada_lindqvist"),
                comments=(("ines-ferreira", "The last line turns the whole letter around."),),
            ),
            Story(
                "ines-ferreira",
                "Dear Translator of My Mother's Diary",
                "You will reach the page in March where she writes about the man at the bakery. "
                "Please translate it exactly. Do not soften it for me.\n\nI am writing this "
                "instead of telling you, because I cannot yet read it myself.",
                liked_by=("theo_ng", "oskar.brandt"),
            ),
            Story(
                "oskar.brandt",
                "Re: The Clock You Left",
                "It runs four minutes fast, as it did in your hallway. I have not corrected it. "
                "I set everything else four minutes fast instead, so that in this house, at "
                "least, we agree.",
                liked_by=("marta_quill",),
            ),
        ),
    ),
    Contest(
        phase="voting",
        title="Small Hours",
        description="Entries are closed: read them and like your favourites before the vote ends.",
        prompt="Something happens between two and four in the morning that nobody else will "
        "ever know about.",
        tags=("night", "anonymous"),
        anonymous=True,
        voting=True,
        stories=(
            Story(
                "marta_quill",
                "Ferry Timetable, Winter Edition",
                "At 3:10 the last printer in the office wakes by itself and prints one page: a "
                "crossing at 3:40 that does not exist.\n\nI have been at the pier at 3:40 "
                "eleven times now. The twelfth, a light moved on the water.",
                liked_by=("theo_ng",),
            ),
            Story(
                "theo_ng",
                "Obs",
                "Bed four, 02:00, pulse 64. Bed four, 03:00, pulse 64. Bed four, 03:20, a hand "
                "that finds mine in the dark and holds it, for no reason the chart has a box "
                "for.",
            ),
            Story(
                "ada_lindqvist",
                "Night Survey",
                "Between two and four the town is four streets longer. I know because I measured "
                "it, and I have the chain marks in the snow to prove it, and nobody else was "
                "awake to argue.",
                liked_by=("oskar.brandt",),
            ),
        ),
    ),
    Contest(
        phase="open",
        title="Kitchen Table Stories",
        description="Open now: everything happens around one kitchen table.",
        prompt="Everything happens around one kitchen table. Five hundred words at most.",
        tags=("home", "family"),
        word_max=500,
        stories=(
            Story(
                "ines-ferreira",
                "Leaf",
                "The table has a leaf you pull out for Christmas. We have not pulled it out since "
                "my father left. Tonight my daughter found it, dusted it, and set six places. "
                "We are four. She would not say who the others are for, and I did not ask.",
                liked_by=("marta_quill", "ada_lindqvist"),
                comments=(
                    ("oskar.brandt", "Six places for four people. I keep counting them."),
                    ("ines-ferreira", "So does she."),
                ),
            ),
            Story(
                "oskar.brandt",
                "Homework",
                "Forty years of marking at this table. Red pen, green tea, the radio low. The "
                "ring from the teapot is still there, and a small *B+* my son once carved beside "
                "it, which I have never had the heart to sand away.",
                liked_by=("theo_ng",),
            ),
            Story(
                "theo_ng",
                "Breakfast at Seven",
                "I come home as they sit down. Toast for them, dinner for me. We meet across the "
                "table at the exact middle of our days and pass the butter like a baton.",
            ),
        ),
    ),
    Contest(
        phase="open",
        title="Maps of Imaginary Places",
        description="Open for entries, then a week of voting. Writers stay anonymous until "
        "the results.",
        prompt="Describe a place that is on no map, as if you were giving someone directions.",
        tags=("places", "anonymous"),
        anonymous=True,
        voting=True,
        stories=(
            Story(
                "ada_lindqvist",
                "Directions to Vell",
                "Take the coast road until the signs stop agreeing with each other. Turn where "
                "the two oldest disagree most. Vell is the village that was there when you were "
                "a child and is not there when you go back; it keeps the keys you lost.",
            ),
            Story(
                "marta_quill",
                "The Island Between Tides",
                "It is there for forty minutes, twice a day. Walk out when the gulls go quiet. "
                "Do not pick anything up. Be back before the water remembers where it was.",
            ),
        ),
    ),
    Contest(
        phase="upcoming",
        title="First Snow",
        description="Opens soon: start your draft now.",
        prompt="The first snow of the year falls on a town that has never seen snow.",
        tags=("weather", "wonder"),
    ),
)

# Plain enough for anyone trying the demo to log in as one of its writers.
PASSWORD = "litcomp-demo"
ADMIN = Writer("litcomp_editors", "The people who run these competitions.")
