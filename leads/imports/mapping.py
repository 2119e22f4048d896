"""Propose which lead field each column fills, from header synonyms in several languages."""

from __future__ import annotations

import hashlib
import re
import unicodedata

# Where a column's values go. "extra" keeps the column on Lead.extra; "ignore" drops it.
TARGETS: dict[str, str] = {
    "email": "Email",
    "first_name": "First name",
    "last_name": "Last name",
    "full_name": "Full name (split into first and last)",
    "phone": "Phone",
    "title": "Job title",
    "company_name": "Company",
    "website": "Website",
    "industry": "Industry",
    "employees": "Number of employees",
    "country": "Country",
    "region": "Region / state",
    "rating": "Rating (on the badge scan)",
    "notes": "Notes (on the badge scan)",
    "scanned_at": "Scan date/time",
    "badge_id": "Badge ID (on the badge scan)",
    "extra": "Keep as extra data",
    "ignore": "Ignore",
}
# Targets a file may map from several columns (the first non-empty value wins).
MULTI_TARGETS = frozenset({"phone", "notes", "extra", "ignore"})

_SYNONYMS: dict[str, tuple[str, ...]] = {
    "email": (
        "email",
        "e-mail",
        "email address",
        "e-mail address",
        "work email",
        "business email",
        "email id",
        "mail",
        "emailaddress",
        "courriel",
        "adresse e-mail",
        "adresse email",
        "correo",
        "correo electronico",
        "correo electrónico",
        "posta elettronica",
        "e-mail-adresse",
        "e-mailadres",
        "email (work)",
        "primary email",
        "contact email",
    ),
    "first_name": (
        "first name",
        "firstname",
        "first",
        "given name",
        "forename",
        "vorname",
        "prénom",
        "prenom",
        "nombre",
        "nome",
        "voornaam",
        "imię",
    ),
    "last_name": (
        "last name",
        "lastname",
        "last",
        "surname",
        "family name",
        "nachname",
        "familienname",
        "nom",
        "nom de famille",
        "apellido",
        "apellidos",
        "cognome",
        "sobrenome",
        "achternaam",
        "nazwisko",
    ),
    "full_name": (
        "name",
        "full name",
        "fullname",
        "contact name",
        "contact",
        "attendee",
        "attendee name",
        "nom complet",
    ),
    "phone": (
        "phone",
        "phone number",
        "telephone",
        "tel",
        "tel.",
        "mobile",
        "mobile phone",
        "mobile number",
        "cell",
        "cell phone",
        "work phone",
        "business phone",
        "direct phone",
        "telefon",
        "telefonnummer",
        "handy",
        "mobil",
        "téléphone",
        "telephone portable",
        "portable",
        "teléfono",
        "telefono",
        "móvil",
        "movil",
        "celular",
        "telefoon",
        "mobiel",
    ),
    "title": (
        "title",
        "job title",
        "jobtitle",
        "position",
        "role",
        "job role",
        "designation",
        "job function",
        "funktion",
        "berufsbezeichnung",
        "titel",
        "poste",
        "fonction",
        "cargo",
        "puesto",
        "ruolo",
        "functie",
    ),
    "company_name": (
        "company",
        "company name",
        "organization",
        "organisation",
        "organization name",
        "account",
        "account name",
        "employer",
        "business",
        "firma",
        "unternehmen",
        "firmenname",
        "société",
        "societe",
        "entreprise",
        "empresa",
        "azienda",
        "società",
        "bedrijf",
        "organisatie",
    ),
    "website": (
        "website",
        "web site",
        "url",
        "web",
        "homepage",
        "company website",
        "webseite",
        "site web",
        "sitio web",
    ),
    "industry": ("industry", "sector", "vertical", "branche", "industrie", "secteur", "industria", "sector industrial"),
    "employees": (
        "employees",
        "no. of employees",
        "no of employees",
        "number of employees",
        "# employees",
        "num employees",
        "company size",
        "employee count",
        "headcount",
        "size",
        "mitarbeiter",
        "anzahl mitarbeiter",
        "mitarbeiterzahl",
        "effectif",
        "employés",
        "employes",
        "taille de l'entreprise",
        "empleados",
        "dipendenti",
        "medewerkers",
    ),
    "country": (
        "country",
        "country/region",
        "country / region",
        "country or region",
        "nation",
        "land",
        "pays",
        "país",
        "pais",
        "paese",
    ),
    "region": (
        "region",
        "state",
        "state/province",
        "province",
        "county",
        "bundesland",
        "région",
        "estado",
        "provincia",
    ),
    "rating": (
        "rating",
        "lead rating",
        "score",
        "temperature",
        "lead temperature",
        "priority",
        "bewertung",
        "note lead",
    ),
    "notes": (
        "notes",
        "note",
        "comments",
        "comment",
        "description",
        "remarks",
        "memo",
        "notizen",
        "bemerkungen",
        "kommentar",
        "commentaires",
        "remarques",
        "notas",
        "comentarios",
        "note/commentaire",
    ),
    "scanned_at": (
        "scan date",
        "scan date/time",
        "scanned at",
        "scan time",
        "date scanned",
        "timestamp",
        "captured at",
        "capture date",
        "date",
        "datum",
        "scan datum",
    ),
    "badge_id": ("badge id", "badge", "badge number", "registration id", "attendee id", "badge no", "badge #"),
}


def normalise_header(value: str) -> str:
    """Fold a header for comparison: case, accents, punctuation and spacing do not matter."""
    value = unicodedata.normalize("NFKD", str(value)).encode("ascii", "ignore").decode()
    value = value.lower().replace("#", " number ").replace("&", " and ")
    return re.sub(r"[^a-z0-9]+", " ", value).strip()


_LOOKUP: dict[str, str] = {}
for _target, _names in _SYNONYMS.items():
    for _name in _names:
        _LOOKUP.setdefault(normalise_header(_name), _target)
# "No. of Employees" and "number of employees" fold the same after punctuation is dropped.
_LOOKUP.setdefault("no of employees", "employees")


def header_target(header: str) -> str | None:
    """Return the lead field a header names, if it is a known synonym."""
    return _LOOKUP.get(normalise_header(header))


def header_score(cells: list[str]) -> int:
    """Count the cells of a row that are known column names (used to find the header row)."""
    return sum(1 for cell in cells if isinstance(cell, str) and cell.strip() and header_target(cell))


def propose_mapping(headers: list[str], *, keep_extra: bool = True) -> dict[str, str]:
    """Map each column (by index, as a string key) to a target; a target other than phone/notes is used once."""
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for index, header in enumerate(headers):
        target = header_target(header) if str(header).strip() else None
        if target and (target in MULTI_TARGETS or target not in used):
            mapping[str(index)] = target
            used.add(target)
        else:
            mapping[str(index)] = "extra" if keep_extra and str(header).strip() else "ignore"
    if "full_name" in used and {"first_name", "last_name"} & used:
        for key, target in mapping.items():
            if target == "full_name":
                mapping[key] = "extra" if keep_extra else "ignore"
    return mapping


def headers_signature(headers: list[str]) -> str:
    """Return a fingerprint of a file's headers, to offer a saved preset for the same layout again."""
    folded = "\x1f".join(normalise_header(h) for h in headers)
    return hashlib.sha256(folded.encode()).hexdigest()[:32]


def mapping_problems(mapping: dict[str, str], column_count: int) -> list[str]:
    """Return what is wrong with a mapping the user chose (unknown targets, a field mapped twice)."""
    problems = []
    seen: dict[str, int] = {}
    for key, target in mapping.items():
        if target not in TARGETS:
            problems.append(f"Column {int(key) + 1}: unknown field {target!r}.")
            continue
        if not key.isdigit() or int(key) >= column_count:
            problems.append(f"Column {key} does not exist in the file.")
            continue
        if target not in MULTI_TARGETS:
            seen[target] = seen.get(target, 0) + 1
    for target, count in seen.items():
        if count > 1:
            problems.append(f"{TARGETS[target]} is chosen for {count} columns; choose it for one.")
    if "email" not in seen:
        problems.append("No column is mapped to Email; imported leads are matched and deduplicated on it.")
    return problems
