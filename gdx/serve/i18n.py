"""Interface text in Thai (default) and English (`?lang=en`), and number formatting."""

from __future__ import annotations

import math
from typing import Any

LANGS = ("th", "en")

LABELS: dict[str, tuple[str, str]] = {
    "site": ("GDX One Data — แดชบอร์ดผู้ว่าราชการจังหวัด", "GDX One Data — Governor dashboard"),
    "overview": ("ภาพรวมจังหวัดนำร่อง", "Pilot provinces overview"),
    "catalog": ("บัญชีข้อมูล", "Data catalog"),
    "api": ("API (CKAN)", "API (CKAN)"),
    "dcat": ("DCAT-AP", "DCAT-AP"),
    "agenda": ("วาระจังหวัด", "Provincial agenda"),
    "latest": ("ล่าสุด", "Latest"),
    "target": ("เป้าหมาย", "Target"),
    "period": ("งวด", "Period"),
    "trend": ("แนวโน้มรายเดือน", "Monthly trend"),
    "details": ("ดูรายละเอียดจังหวัด", "Province details"),
    "no_kpis": (
        "ยังไม่มีตัวชี้วัดจากคลังข้อมูล (mart_provincial_kpi)",
        "No KPIs in the warehouse yet (mart_provincial_kpi)",
    ),
    "sources": ("ชุดข้อมูลที่ใช้คำนวณ", "Datasets behind this KPI"),
    "dataset": ("ชุดข้อมูล", "Dataset"),
    "quality": ("คุณภาพ (สัดส่วนผ่านการตรวจ)", "Quality (share valid)"),
    "freshness": ("ความสดใหม่", "Freshness"),
    "last_updated": ("นำเข้าล่าสุด", "Last landed"),
    "rows": ("จำนวนแถว", "Rows"),
    "quarantined": ("ถูกกักกัน", "Quarantined"),
    "agency": ("หน่วยงาน", "Agency"),
    "category": ("ประเภทข้อมูล", "Data category"),
    "all": ("ทั้งหมด", "All"),
    "search": ("ค้นหา", "Search"),
    "search_placeholder": (
        "ค้นหาชุดข้อมูล เช่น ฝุ่น PM2.5, ขยะ, ชายแดน",
        "Search datasets, e.g. PM2.5, waste, border",
    ),
    "results": ("ผลการค้นหา", "Results"),
    "datasets": ("ชุดข้อมูล", "datasets"),
    "download": ("ดาวน์โหลด", "Download"),
    "restricted": (
        "ชุดข้อมูลนี้ไม่เปิดเผยต่อสาธารณะ (ข้อมูลส่วนบุคคลหรือข้อมูลลับ): แสดงเฉพาะคำอธิบายข้อมูล ข้อมูลและไฟล์มีให้เฉพาะหน่วยงานที่สัญญาข้อมูลอนุญาต (ด้วย API token ของหน่วยงาน)",
        "This dataset is not public (personal or classified data): metadata only; its data and downloads are for the agencies its contract grants (with the agency's API token).",
    ),
    "restricted_granted": (
        "ชุดข้อมูลจำกัดการเข้าถึง: หน่วยงานของท่านได้รับอนุญาตตามสัญญาข้อมูล ทุกการอ่านถูกบันทึกไว้ ดาวน์โหลดด้วย API token ของหน่วยงาน",
        "Restricted dataset: your agency is granted access by its contract; every read is on the audit log. Download with your agency's API token.",
    ),
    "how_to_access": ("วิธีขอสิทธิ์เข้าถึง", "How to request access"),
    "denied": ("ไม่อนุญาตให้เข้าถึง", "Access denied"),
    "access": ("ระดับการเข้าถึง", "Access level"),
    "public": ("เปิดเผย", "Public"),
    "restricted_short": ("จำกัดการเข้าถึง", "Restricted"),
    "metadata": ("คำอธิบายชุดข้อมูล (GD-Catalog)", "Metadata (GD-Catalog)"),
    "coverage": ("ช่วงเวลาของข้อมูล", "Time coverage"),
    "kpis_using": ("ตัวชี้วัดที่ใช้ชุดข้อมูลนี้", "KPIs using this dataset"),
    "back": ("กลับหน้าภาพรวม", "Back to overview"),
    "language": ("English", "ภาษาไทย"),
    "no_results": ("ไม่พบชุดข้อมูล", "No datasets found"),
    "query_error": ("คำค้นไม่ถูกต้อง", "Invalid search"),
    "status_good": ("ตามเป้าหมาย", "On track"),
    "status_warn": ("เฝ้าระวัง", "At risk"),
    "status_bad": ("ไม่ถึงเป้าหมาย", "Off track"),
    "status_none": ("ไม่มีสถานะ", "No status"),
    "fresh_good": ("เป็นปัจจุบัน", "Fresh"),
    "fresh_none": ("ไม่ทราบ", "Unknown"),
    "partial": ("ยังไม่ครบงวด", "partial period"),
    "lower_better": ("ยิ่งต่ำยิ่งดี", "lower is better"),
    "higher_better": ("ยิ่งสูงยิ่งดี", "higher is better"),
    "suppressed": (
        "ปกปิดเพื่อคุ้มครองข้อมูลส่วนบุคคล",
        "suppressed to protect personal data",
    ),
    "suppressed_title": (  # the tooltip of a suppressed value: both languages, whatever the page's
        "ปกปิดเพื่อคุ้มครองข้อมูลส่วนบุคคล / suppressed to protect personal data",
        "ปกปิดเพื่อคุ้มครองข้อมูลส่วนบุคคล / suppressed to protect personal data",
    ),
    "records": ("ราย", "records"),
    "suppressed_short": ("ปกปิด", "suppressed"),
    "suppressed_note": (
        "เดือนที่ปกปิดเพื่อคุ้มครองข้อมูลส่วนบุคคล (ช่องว่างในกราฟ)",
        "months suppressed to protect personal data (gaps in the chart)",
    ),
    "footer": (
        "ข้อมูลจากสัญญาข้อมูล (ODCS) และคลังข้อมูล dbt — อ่านอย่างเดียว",
        "From the data contracts (ODCS) and the dbt marts — read-only",
    ),
}


# The marts' freshness_status values (mart_data_quality / mart_open_data_catalog).
FRESHNESS: dict[str, tuple[str, str]] = {
    "fresh": ("เป็นปัจจุบัน", "Fresh"),
    "stale": ("ล่าช้ากว่ากำหนด", "Stale"),
    "no_data": ("ยังไม่มีข้อมูล", "No data yet"),
    "no_sla": ("ไม่มีกำหนดความถี่", "No SLA"),
    "static": ("ข้อมูลอ้างอิง (คงที่)", "Static reference"),
}


def freshness_label(status: Any, lang: str) -> str:
    th, en = FRESHNESS.get(
        str(status or ""), LABELS["fresh_none"] if not status else (str(status), str(status))
    )
    return en if lang == "en" else th


def label(key: str, lang: str) -> str:
    th, en = LABELS[key]
    return en if lang == "en" else th


def choose(th: Any, en: Any, lang: str) -> Any:
    """The text in `lang`, falling back to the other language when it is missing."""
    first, second = (en, th) if lang == "en" else (th, en)
    return first if first not in (None, "") else second


def format_number(value: float | None, lang: str = "th") -> str:
    """Readable number: thousands separators, at most two decimals, no trailing zeros."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if abs(value) >= 1000:
        text = f"{value:,.0f}"
    elif float(value).is_integer():
        text = f"{value:.0f}"
    else:
        text = f"{value:,.2f}".rstrip("0").rstrip(".")
    return text
