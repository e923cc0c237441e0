"""DCAT-AP 2/3 JSON-LD of the catalog (`/catalog.jsonld`) and of each dataset (`/dataset/<name>.jsonld`).

Built from the same package dicts as the CKAN API, so both views always agree. The `@context` is
inline (prefixes only): harvesters and rdflib parse it without fetching anything. Controlled
vocabularies are the EU Publications Office authority tables DCAT-AP prescribes (access-right,
frequency, file-type, language, country); media types are IANA URIs.

Each caller gets the DCAT of its own view (gdx/serve/access.py): a restricted dataset is described
(title, publisher, access rights, ...) without distributions or temporal coverage, except for the
agencies its contract grants, whose documents list its (token-protected) distributions.
"""

from __future__ import annotations

from typing import Any

from gdx.thai.provinces import province_name

EU = "http://publications.europa.eu/resource/authority"
CONTEXT: dict[str, str] = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "vcard": "http://www.w3.org/2006/vcard/ns#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "locn": "http://www.w3.org/ns/locn#",
}

ACCESS_PUBLIC = f"{EU}/access-right/PUBLIC"
ACCESS_RESTRICTED = f"{EU}/access-right/RESTRICTED"
ACCESS_NON_PUBLIC = f"{EU}/access-right/NON_PUBLIC"
THAILAND = f"{EU}/country/THA"

# GD-Catalog update_frequency_unit (Thai) → {update_frequency_interval: EU frequency code}
_FREQUENCIES: dict[str, dict[int, str]] = {
    "ชั่วโมง": {1: "HOURLY", 2: "BIHOURLY", 3: "TRIHOURLY", 12: "12HRS"},
    "วัน": {1: "DAILY"},
    "สัปดาห์": {1: "WEEKLY", 2: "BIWEEKLY"},
    "เดือน": {1: "MONTHLY", 2: "BIMONTHLY", 3: "QUARTERLY", 6: "ANNUAL_2", 12: "ANNUAL"},
    "ไตรมาส": {1: "QUARTERLY", 2: "ANNUAL_2", 4: "ANNUAL"},
    "ครึ่งปี": {1: "ANNUAL_2", 2: "ANNUAL"},
    "ปี": {1: "ANNUAL", 2: "BIENNIAL", 3: "TRIENNIAL"},
}
_UNIT_ALIASES = {
    "hour": "ชั่วโมง",
    "day": "วัน",
    "week": "สัปดาห์",
    "month": "เดือน",
    "quarter": "ไตรมาส",
    "year": "ปี",
}
_NEVER = ("ไม่มีการปรับปรุง", "never")
_IRREGULAR = ("ไม่แน่นอน", "irregular")
_REALTIME = ("เรียลไทม์", "real time", "realtime")

_LANGUAGES = {"ไทย": "THA", "thai": "THA", "อังกฤษ": "ENG", "english": "ENG"}
_FILE_TYPES = {"CSV": "CSV", "PARQUET": "PARQUET", "JSON": "JSON"}
_MEDIA_TYPES = {"CSV": "text/csv", "PARQUET": "application/vnd.apache.parquet", "JSON": "application/json"}
_SECRET = {"ลับ", "ลับมาก", "ลับที่สุด", "secret", "top secret", "confidential"}
_SECRET_CATEGORIES = {"ข้อมูลความมั่นคง", "ข้อมูลความลับทางราชการ", "security", "official secret"}
_PERSONAL_CATEGORIES = {"ข้อมูลส่วนบุคคล", "personal"}


def frequency_uri(unit: Any, interval: Any) -> str | None:
    """EU frequency URI of a GD-Catalog update frequency (`วัน`, 1 → .../frequency/DAILY)."""
    if unit is None:
        return None
    label = str(unit).strip()
    lowered = label.lower()
    if any(lowered.startswith(n) for n in _NEVER):
        return f"{EU}/frequency/NEVER"
    if any(lowered.startswith(n) for n in _IRREGULAR):
        return f"{EU}/frequency/IRREG"
    if any(lowered.startswith(n) for n in _REALTIME):
        return f"{EU}/frequency/UPDATE_CONT"
    label = _UNIT_ALIASES.get(lowered.rstrip("s"), label)
    try:
        count = int(interval) if interval not in (None, "") else 1
    except (TypeError, ValueError):
        count = 1
    if count <= 0:
        return f"{EU}/frequency/NEVER"
    table = _FREQUENCIES.get(label)
    if table is None:
        return f"{EU}/frequency/UNKNOWN"
    return f"{EU}/frequency/{table.get(count, 'OTHER')}"


def access_rights_uri(package: dict[str, Any]) -> str:
    """EU access-right: PUBLIC for open data; NON_PUBLIC for personal or secret data; else RESTRICTED."""
    if package.get("access_level") == "public":
        return ACCESS_PUBLIC
    category = str(package.get("data_category") or "").strip().lower()
    classification = str(package.get("data_classification") or "").strip().lower()
    if category in _PERSONAL_CATEGORIES or category in _SECRET_CATEGORIES or classification in _SECRET:
        return ACCESS_NON_PUBLIC
    return ACCESS_RESTRICTED


def _lang(value: Any, lang: str) -> dict[str, str] | None:
    return {"@value": str(value), "@language": lang} if value else None


def _date(value: Any) -> dict[str, str] | None:
    if not value:
        return None
    text = str(value)
    if len(text) == 10:
        return {"@value": text, "@type": "xsd:date"}
    return {"@value": text, "@type": "xsd:dateTime"}


def _be_year(value: Any) -> dict[str, str] | None:
    """A GD-Catalog Buddhist Era year (2567) as an xsd:gYear (2024)."""
    try:
        return {"@value": f"{int(value) - 543:04d}", "@type": "xsd:gYear"}
    except (TypeError, ValueError):
        return None


def _temporal(package: dict[str, Any]) -> dict[str, Any] | None:
    """Coverage measured in the data (marts); else the GD-Catalog first/last year of data."""
    start = _date(package.get("temporal_start")) or _be_year(package.get("first_year_of_data"))
    end = _date(package.get("temporal_end")) or (
        _be_year(package.get("last_year_of_data")) if package.get("temporal_start") is None else None
    )
    if not start and not end:
        return None
    return _compact({"@type": "dct:PeriodOfTime", "dcat:startDate": start, "dcat:endDate": end})


def _compact(node: dict[str, Any]) -> dict[str, Any]:
    """Drop empty properties (DCAT-AP: omit rather than state an empty value)."""
    return {k: v for k, v in node.items() if v not in (None, [], "", {})}


def _location(code: str, base_url: str) -> dict[str, Any]:
    try:
        labels = [_lang(province_name(code, "th"), "th"), _lang(province_name(code, "en"), "en")]
    except ValueError:
        labels = [code]
    return {
        "@id": f"{base_url}/province/{code}",
        "@type": "dct:Location",
        "dct:identifier": code,
        "skos:prefLabel": labels,
        "skos:inScheme": {"@id": "https://www.iso.org/obp/ui/#iso:code:3166:TH"},
    }


def _distribution(resource: dict[str, Any], package: dict[str, Any], base_url: str) -> dict[str, Any]:
    fmt = str(resource.get("format") or "").upper()
    license_node = _license(package)
    return _compact(
        {
            "@id": f"{base_url}/dataset/{package['name']}/resource/{resource['id']}",
            "@type": "dcat:Distribution",
            "dct:title": resource.get("name"),
            "dct:description": resource.get("description"),
            "dcat:accessURL": {"@id": resource["url"]},
            "dcat:downloadURL": {"@id": resource["url"]},
            "dct:format": {"@id": f"{EU}/file-type/{_FILE_TYPES[fmt]}"} if fmt in _FILE_TYPES else None,
            "dcat:mediaType": {"@id": f"https://www.iana.org/assignments/media-types/{_MEDIA_TYPES[fmt]}"}
            if fmt in _MEDIA_TYPES
            else None,
            "dct:license": license_node,
            "dct:rights": {"@id": access_rights_uri(package)},
            "dct:modified": _date(resource.get("last_modified")),
        }
    )


def _license(package: dict[str, Any]) -> dict[str, Any] | None:
    if not package.get("license_id"):
        return None
    if package.get("license_url"):
        return {
            "@id": package["license_url"],
            "@type": "dct:LicenseDocument",
            "dct:title": package["license_title"],
        }
    return {
        "@type": "dct:LicenseDocument",
        "dct:title": package.get("license_title"),
        "dct:identifier": package["license_id"],
    }


def dataset_node(package: dict[str, Any], base_url: str) -> dict[str, Any]:
    """The dcat:Dataset node of one package (no @context)."""
    org = package.get("organization") or {}
    languages = package.get("data_language") or []
    languages = [languages] if isinstance(languages, str) else languages
    provinces = package.get("coverage_provinces") or []
    spatial = [{"@id": THAILAND}] + [_location(code, base_url) for code in provinces]
    description = [d for d in (package.get("notes"), _lang(package.get("objective"), "th")) if d]
    return _compact(
        {
            "@id": f"{base_url}/dataset/{package['name']}",
            "@type": "dcat:Dataset",
            "dct:identifier": package.get("contract_id") or package["id"],
            "dct:title": [
                t for t in (_lang(package.get("title"), "th"), _lang(package.get("title_en"), "en")) if t
            ],
            "dct:description": description or [package.get("title_en") or package["title"]],
            "dcat:keyword": [t["name"] for t in package.get("tags", [])],
            "dct:publisher": _compact(
                {
                    "@id": f"{base_url}/organization/{org.get('name')}",
                    "@type": "foaf:Agent",
                    "foaf:name": [
                        n for n in (_lang(org.get("title"), "th"), _lang(org.get("title_en"), "en")) if n
                    ],
                    "foaf:mbox": {"@id": f"mailto:{org['email']}"} if org.get("email") else None,
                }
            ),
            "dcat:contactPoint": _compact(
                {
                    "@type": "vcard:Kind",
                    "vcard:fn": package.get("maintainer") or org.get("title"),
                    "vcard:hasEmail": {"@id": f"mailto:{package['maintainer_email']}"}
                    if package.get("maintainer_email")
                    else None,
                }
            ),
            "dct:accessRights": {"@id": access_rights_uri(package), "@type": "dct:RightsStatement"},
            "dct:license": _license(package),
            "dct:accrualPeriodicity": (
                {"@id": uri}
                if (
                    uri := frequency_uri(
                        package.get("update_frequency_unit"), package.get("update_frequency_interval")
                    )
                )
                else None
            ),
            "dct:temporal": _temporal(package),
            "dct:spatial": spatial,
            "dct:language": [{"@id": f"{EU}/language/{_LANGUAGES[x]}"} for x in languages if x in _LANGUAGES],
            "dct:modified": _date(package.get("metadata_modified")),
            "dct:issued": _date(package.get("metadata_created")),
            "dcat:landingPage": {"@id": f"{base_url}/dataset/{package['name']}", "@type": "foaf:Document"},
            "dcat:version": package.get("version"),
            "dct:source": package.get("data_source"),
            # the caller's view decides: a metadata-only package has no resources
            "dcat:distribution": [_distribution(r, package, base_url) for r in package.get("resources", [])],
        }
    )


def dataset_document(package: dict[str, Any], base_url: str) -> dict[str, Any]:
    """JSON-LD document of one dataset."""
    return {"@context": CONTEXT, **dataset_node(package, base_url)}


def catalog_document(packages: list[dict[str, Any]], base_url: str, title: str) -> dict[str, Any]:
    """JSON-LD document of the whole catalog: one dcat:Catalog with every dataset embedded."""
    return {
        "@context": CONTEXT,
        "@id": f"{base_url}/catalog",
        "@type": "dcat:Catalog",
        "dct:title": [
            _lang(f"{title} — บัญชีข้อมูลจังหวัดนำร่อง", "th"),
            _lang(f"{title} — pilot province data catalog", "en"),
        ],
        "dct:description": [
            _lang("บัญชีข้อมูลที่หน่วยงานแลกเปลี่ยนผ่าน GDX ภายใต้สัญญาข้อมูล (data contract)", "th"),
            _lang("Datasets agencies exchange through GDX under data contracts.", "en"),
        ],
        "dct:publisher": {
            "@id": f"{base_url}/organization/dga",
            "@type": "foaf:Agent",
            "foaf:name": [
                _lang("สำนักงานพัฒนารัฐบาลดิจิทัล (องค์การมหาชน)", "th"),
                _lang("Digital Government Development Agency", "en"),
            ],
        },
        "foaf:homepage": {"@id": f"{base_url}/catalog", "@type": "foaf:Document"},
        "dct:language": [{"@id": f"{EU}/language/THA"}, {"@id": f"{EU}/language/ENG"}],
        "dct:spatial": {"@id": THAILAND},
        "dct:modified": _date(max((p.get("metadata_modified") or "" for p in packages), default="") or None),
        "dcat:dataset": [dataset_node(p, base_url) for p in packages],
    }
