"""The indicator table as files a supervisor opens in Excel: CSV with a BOM, and xlsx.

Excel on Chinese Windows reads a CSV without a byte-order mark as GBK and garbles the names;
the BOM makes it read UTF-8.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from gridsvc.issues.indicators.definitions import (
    COUNTS,
    INDICATORS,
    flat_columns,
    flat_labels,
    flat_row,
)

BOM = "\ufeff"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def to_csv(rows: list[dict[str, Any]]) -> bytes:
    """Return the rows as UTF-8 CSV with a BOM, one line of column keys first."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.DictWriter(out, fieldnames=flat_columns(), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(flat_row(row) for row in rows)
    return out.getvalue().encode("utf-8")


def sections_to_csv(sections: list[tuple[str, list[dict[str, Any]]]]) -> bytes:
    """Return several tables as one UTF-8 CSV with a BOM, a first column naming each one's."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.DictWriter(out, fieldnames=["table", *flat_columns()], lineterminator="\r\n")
    writer.writeheader()
    for table, rows in sections:
        writer.writerows({"table": table, **flat_row(row)} for row in rows)
    return out.getvalue().encode("utf-8")


def to_xlsx(rows: list[dict[str, Any]], title: str) -> bytes:
    """Return a workbook: the indicators (Chinese headings, then keys) and their formulas."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "指标"
    sheet.append([title])
    sheet["A1"].font = Font(bold=True)
    sheet.append(flat_labels())
    columns = flat_columns()
    sheet.append(columns)
    for row in rows:
        flat = flat_row(row)
        sheet.append([flat[column] for column in columns])
    sheet.freeze_panes = "D4"
    notes = workbook.create_sheet("说明")
    notes.append(["指标", "indicator", "公式", "numerator", "denominator"])
    for indicator in INDICATORS:
        notes.append(
            [
                indicator.name,
                indicator.key,
                indicator.formula,
                indicator.numerator,
                indicator.denominator,
            ]
        )
    notes.append([])
    notes.append(["计数", "count", "定义"])
    for count in COUNTS:
        notes.append([count.name, count.key, count.definition])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
