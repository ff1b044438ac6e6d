#!/usr/bin/env python3
"""Builds the PDF fixtures from the sample report (../baoqing-county-2024.md).

The sample is rendered to the official layout by gongkai itself
(`gongkai render --to html`), given ruled tables, a running header and page
numbers (as a county office's Word template has them), and converted to PDF
by LibreOffice, as agencies export their reports:

- baoqing-county-2024.pdf: T3 breaks across two pages, its header not
  repeated on the second;
- baoqing-county-2024.repeated-header.pdf: the same, T3's header repeated on
  the second page (the header rows marked as a table head);
- baoqing-county-2024.unruled.pdf: the same page with its tables left
  without borders: tables without any rulings, T3 again over two pages
  (one of its rows split between them);
- defects/no-tounicode.pdf: the first with every ToUnicode map taken out
  (qpdf, then the maps deleted from the uncompressed file);
- defects/outlines.pdf: the first with its text drawn as outlines
  (Ghostscript -dNoOutputFonts);
- defects/scanned.pdf: the first printed to page images (Ghostscript
  pdfimage24): a scan, with no text layer.

Needs: the gongkai binary (GONGKAI=path, else `cargo run`), soffice
(libreoffice-writer, fonts-noto-cjk), qpdf, fix-qdf, gs, pdftotext, pdfinfo.
The tests in crates/document/tests/layouts.rs say what each must import to.
"""
import os
import pathlib
import re
import shutil
import subprocess
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[2]
SAMPLE = HERE.parent / "baoqing-county-2024.md"


def run(*args, **kw):
    return subprocess.run(args, check=True, capture_output=True, **kw)


def rendered_html():
    gongkai = os.environ.get("GONGKAI")
    cmd = [gongkai] if gongkai else ["cargo", "run", "--quiet", "--bin", "gongkai", "--"]
    return run(*cmd, "render", "--to", "html", str(SAMPLE), cwd=ROOT).stdout.decode("utf-8")


HEADER = (
    '<div title="header"><p align="right">宝清县人民政府门户网站 政府信息公开</p></div>\n'
    '<div title="footer"><p align="center">- <sdfield type=PAGE subtype=RANDOM format=PAGE>1</sdfield> -</p></div>\n'
)


def ruled(html, repeated_header=False, borders=True):
    """Borders on every table, a running header and page numbers; with
    repeated_header, T3's three header rows as <thead> (LibreOffice repeats
    a table head on every page the table reaches)."""
    border = "1" if borders else "0"
    html = html.replace("<table>", f'<table border="{border}" cellspacing="0" cellpadding="4">')
    html = html.replace("<body>", "<body>\n" + HEADER, 1)
    if repeated_header:
        start = html.index('<tr><th rowspan="3" colspan="3">')
        end = html.index("</tr>", html.index("<tr><th>商业企业</th>")) + len("</tr>")
        close = html.index("</table>", end)
        html = html[:start] + "<thead>" + html[start:end] + "</thead><tbody>" + html[end:close] + "</tbody>" + html[close:]
    return html


def to_pdf(html, name, work):
    """LibreOffice, reading the page as a Writer document."""
    src = work / (name + ".html")
    src.write_text(html, encoding="utf-8")
    run("soffice", f"-env:UserInstallation=file://{work}/profile", "--headless",
        "--infilter=HTML (StarWriter)", "--convert-to", "pdf:writer_pdf_Export",
        "--outdir", str(work), str(src))
    return work / (name + ".pdf")


def page_text(pdf, page):
    return run("pdftotext", "-layout", "-f", str(page), "-l", str(page), str(pdf), "-").stdout.decode("utf-8")


def t3_pages(pdf):
    """The pages T3's first and last rows are on."""
    pages = int(re.search(r"Pages:\s+(\d+)", run("pdfinfo", str(pdf)).stdout.decode()).group(1))
    first = next(p for p in range(1, pages + 1) if "本年新收政府信息公开申请数量" in page_text(pdf, p))
    last = next(p for p in range(1, pages + 1) if "结转下年度继续办理" in page_text(pdf, p))
    return first, last


def strip_to_unicode(src, dst, work):
    qdf = work / "qdf.pdf"
    run("qpdf", "--qdf", "--object-streams=disable", str(src), str(qdf))
    data = re.sub(rb"/ToUnicode \d+ \d+ R", b"", qdf.read_bytes())
    qdf.write_bytes(data)
    fixed = run("fix-qdf", str(qdf)).stdout
    (work / "fixed.pdf").write_bytes(fixed)
    run("qpdf", "--compress-streams=y", "--object-streams=generate", str(work / "fixed.pdf"), str(dst))


def main():
    html = rendered_html()
    with tempfile.TemporaryDirectory() as tmp:
        work = pathlib.Path(tmp)
        plain = to_pdf(ruled(html), "plain", work)
        first, last = t3_pages(plain)
        assert last == first + 1, f"T3 should break across two pages, is on {first}..{last}"
        assert "申请人情况" not in page_text(plain, last), "the header should not repeat"
        shutil.copy(plain, HERE / "baoqing-county-2024.pdf")

        repeated = to_pdf(ruled(html, repeated_header=True), "repeated", work)
        first, last = t3_pages(repeated)
        assert last == first + 1, f"T3 should break across two pages, is on {first}..{last}"
        assert "申请人情况" in page_text(repeated, last), "the header should repeat"
        shutil.copy(repeated, HERE / "baoqing-county-2024.repeated-header.pdf")

        unruled = to_pdf(ruled(html, borders=False), "unruled", work)
        first, last = t3_pages(unruled)
        assert last == first + 1, f"T3 should break across two pages, is on {first}..{last}"
        shutil.copy(unruled, HERE / "baoqing-county-2024.unruled.pdf")

        (HERE / "defects").mkdir(exist_ok=True)
        strip_to_unicode(plain, HERE / "defects" / "no-tounicode.pdf", work)
        run("gs", "-q", "-dNoOutputFonts", "-sDEVICE=pdfwrite", "-o", str(HERE / "defects" / "outlines.pdf"), str(plain))
        run("gs", "-q", "-r100", "-sDEVICE=pdfimage24", "-o", str(HERE / "defects" / "scanned.pdf"), str(plain))


if __name__ == "__main__":
    main()
