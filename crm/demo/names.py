"""Word lists for believable demo names; every address uses the reserved `.example` domain."""

from __future__ import annotations

import random
import re

FIRST_NAMES = (
    "Anna",
    "Ben",
    "Clara",
    "David",
    "Elena",
    "Felix",
    "Greta",
    "Hannah",
    "Ivan",
    "Julia",
    "Karim",
    "Laura",
    "Marco",
    "Nora",
    "Oskar",
    "Paula",
    "Quentin",
    "Rosa",
    "Sven",
    "Tara",
    "Ulla",
    "Viktor",
    "Wiebke",
    "Xaver",
    "Yara",
    "Zoe",
    "Emil",
    "Frieda",
    "Hugo",
    "Ida",
    "Jan",
    "Kaja",
    "Leon",
    "Maja",
    "Niklas",
    "Olivia",
    "Piet",
    "Ronja",
    "Samir",
    "Thea",
)
LAST_NAMES = (
    "Albers",
    "Brandt",
    "Conrad",
    "Dietrich",
    "Ebert",
    "Franke",
    "Graf",
    "Hartmann",
    "Jansen",
    "Kaiser",
    "Lange",
    "Marx",
    "Nowak",
    "Otto",
    "Peters",
    "Quast",
    "Roth",
    "Schulz",
    "Thiel",
    "Ullrich",
    "Vogt",
    "Winter",
    "Yilmaz",
    "Zimmer",
    "Engel",
    "Fuchs",
    "Haas",
    "Keller",
    "Lorenz",
    "Meyer",
    "Novak",
    "Pohl",
    "Rossi",
    "Sommer",
    "Tanaka",
    "Urban",
    "Wolff",
    "Ziegler",
)
COMPANY_WORDS = (
    "Nordwind",
    "Alpen",
    "Blau",
    "Sonnen",
    "Hafen",
    "Linden",
    "Eichen",
    "Berg",
    "Fluss",
    "Stern",
    "Kiesel",
    "Falken",
    "Mohn",
    "Rhein",
    "Elbe",
    "Isar",
    "Brücken",
    "Markt",
    "Stadt",
    "Wald",
    "Atlas",
    "Orion",
    "Vega",
    "Nova",
    "Polar",
    "Zenit",
    "Aurora",
    "Delta",
    "Helix",
    "Quarz",
    "Bernstein",
    "Kupfer",
    "Silber",
    "Granit",
    "Lavendel",
    "Salbei",
    "Tannen",
    "Weiden",
    "Zeder",
    "Möwen",
)
COMPANY_TRADES = (
    "Bäckerei",
    "Buchhandlung",
    "Café",
    "Feinkost",
    "Logistik",
    "Optik",
    "Apotheke",
    "Mode",
    "Sport",
    "Elektro",
    "Blumen",
    "Getränke",
    "Reisen",
    "Möbel",
    "Spielwaren",
    "Bio-Markt",
    "Weinhandel",
    "Fahrradladen",
    "Drogerie",
    "Kaffeerösterei",
    "Retail",
    "Foods",
    "Trading",
    "Systems",
    "Handel",
    "Gastro",
)
LEGAL_FORMS = ("GmbH", "GmbH & Co. KG", "AG", "KG", "e.K.", "Ltd.", "S.A.", "B.V.")
ENTERPRISE_FORMS = ("AG", "SE", "Group", "Holding GmbH", "International AG")


def person_name(rng: random.Random) -> tuple[str, str]:
    return rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)


def company_name(rng: random.Random, *, enterprise: bool, used: set[str]) -> str:
    for attempt in range(50):
        word, trade = rng.choice(COMPANY_WORDS), rng.choice(COMPANY_TRADES)
        form = rng.choice(ENTERPRISE_FORMS if enterprise else LEGAL_FORMS)
        name = f"{word} {trade} {form}" if attempt < 25 else f"{word}{trade} {form} {attempt}"
        if name not in used:
            used.add(name)
            return name
    raise RuntimeError("no free company name")  # pragma: no cover - 9,000+ combinations


def slug(text: str) -> str:
    text = (
        text.lower()
        .replace("ä", "ae")
        .replace("ö", "oe")
        .replace("ü", "ue")
        .replace("ß", "ss")
        .replace("&", "and")
    )
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def company_domain(name: str) -> str:
    words = name.split()
    return f"{slug(' '.join(words[:2]))}.example"


def phone_number(rng: random.Random) -> str:
    return f"+49 {rng.randint(30, 899)} {rng.randint(100000, 9999999)}"
