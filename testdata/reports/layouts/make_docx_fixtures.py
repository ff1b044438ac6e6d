#!/usr/bin/env python3
"""Builds the Word fixtures from the sample report (../baoqing-county-2024.md).

1. The sample rendered in the official layout (`gongkai render --to html`),
   converted by LibreOffice (`soffice --headless --convert-to docx`):
   baoqing-county-2024.docx, as Word users get it from any HTML or ODT.
2. The same document as WPS writes it (baoqing-county-2024.wps.docx):
   `w:vMerge` continuing without a value, every table inside a content
   control (`w:sdt`), a T3 row inside a row-level content control, numeric
   style ids with localized names ("标题 3"), and the section headings'
   ordinals (一、…六、) as automatic numbering (numbering.xml, Chinese
   counting) instead of text.

Needs LibreOffice Writer and a CJK font (Debian: libreoffice-writer,
fonts-noto-cjk) and cargo. Dates inside the package and in the zip are
fixed, so a rerun changes nothing LibreOffice itself did not. The tests in
crates/document/tests/layouts.rs say what each must import to.
"""
import os
import pathlib
import re
import shutil
import subprocess
import tempfile
import zipfile

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[2]
SAMPLE = HERE.parent / "baoqing-county-2024.md"
FIXED = (2025, 1, 20, 0, 0, 0)


def rendered_html():
    gongkai = os.environ.get("GONGKAI")
    cmd = [gongkai] if gongkai else ["cargo", "run", "--quiet", "--bin", "gongkai", "--"]
    return subprocess.run(cmd + ["render", str(SAMPLE), "--to", "html"], cwd=ROOT,
                          check=True, capture_output=True, text=True).stdout


def soffice_docx(html):
    with tempfile.TemporaryDirectory() as tmp:
        src = pathlib.Path(tmp) / "report.html"
        src.write_text(html, encoding="utf-8")
        subprocess.run(["soffice", f"-env:UserInstallation=file://{tmp}/profile", "--headless",
                        "--infilter=HTML (StarWriter)", "--convert-to", "docx:MS Word 2007 XML",
                        str(src), "--outdir", tmp], check=True, capture_output=True)
        with zipfile.ZipFile(pathlib.Path(tmp) / "report.docx") as z:
            return {name: z.read(name) for name in z.namelist()}


def fixed_dates(parts):
    """LibreOffice stamps the conversion time into the core properties."""
    core = parts.get("docProps/core.xml")
    if core is not None:
        text = re.sub(r"(<dcterms:(?:created|modified)[^>]*>)[^<]*", r"\g<1>2025-01-20T00:00:00Z",
                      core.decode("utf-8"))
        text = re.sub(r"<cp:revision>\d+</cp:revision>", "<cp:revision>1</cp:revision>", text)
        parts["docProps/core.xml"] = text.encode("utf-8")
    return parts


def write_docx(path, parts):
    # [Content_Types].xml first, as Word writes it; fixed timestamps.
    names = sorted(parts, key=lambda n: (n != "[Content_Types].xml", n))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name in names:
            info = zipfile.ZipInfo(name, date_time=FIXED)
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, parts[name])


NUMBERING = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:numbering xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">\
<w:abstractNum w:abstractNumId="7"><w:multiLevelType w:val="singleLevel"/>\
<w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="chineseCounting"/><w:suff w:val="nothing"/>\
<w:lvlText w:val="%1、"/><w:lvlJc w:val="left"/></w:lvl></w:abstractNum>\
<w:num w:numId="3"><w:abstractNumId w:val="7"/></w:num></w:numbering>"""


def wps_variant(parts):
    parts = dict(parts)
    doc = parts["word/document.xml"].decode("utf-8")
    styles = parts["word/styles.xml"].decode("utf-8")
    # vMerge continuing without a value.
    doc = doc.replace('<w:vMerge w:val="continue"/>', "<w:vMerge/>")
    # Numeric style ids, localized names.
    for level, sid in (("1", "2"), ("2", "3"), ("3", "4")):
        doc = doc.replace(f'<w:pStyle w:val="Heading{level}"/>', f'<w:pStyle w:val="{sid}"/>')
        styles = styles.replace(f'w:styleId="Heading{level}"><w:name w:val="Heading {level}"/>',
                                f'w:styleId="{sid}"><w:name w:val="标题 {level}"/>')
    # The section headings' ordinals as automatic numbering.
    def numbered(m):
        return (m.group(1) + '<w:numPr><w:ilvl w:val="0"/><w:numId w:val="3"/></w:numPr>'
                + m.group(2))
    doc, n = re.subn(r'(<w:pStyle w:val="4"/>)((?:(?!</w:p>).)*?<w:t>)[一二三四五六]、', numbered, doc)
    assert n == 6, f"{n} section headings numbered"
    # Every table inside a content control.
    doc = doc.replace("<w:tbl>", '<w:sdt><w:sdtPr><w:alias w:val="表格"/><w:id w:val="1"/></w:sdtPr>'
                      "<w:sdtContent><w:tbl>").replace("</w:tbl>", "</w:tbl></w:sdtContent></w:sdt>")
    # One T3 row inside a row-level content control.
    at = doc.index("一、本年新收政府信息公开申请数量")
    start = doc.rindex("<w:tr>", 0, at)
    end = doc.index("</w:tr>", at) + len("</w:tr>")
    doc = (doc[:start] + "<w:sdt><w:sdtContent>" + doc[start:end] + "</w:sdtContent></w:sdt>"
           + doc[end:])
    parts["word/document.xml"] = doc.encode("utf-8")
    parts["word/styles.xml"] = styles.encode("utf-8")
    parts["word/numbering.xml"] = NUMBERING.encode("utf-8")
    rels = parts["word/_rels/document.xml.rels"].decode("utf-8")
    parts["word/_rels/document.xml.rels"] = rels.replace(
        "</Relationships>",
        '<Relationship Id="rId90" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/numbering" Target="numbering.xml"/></Relationships>').encode("utf-8")
    types = parts["[Content_Types].xml"].decode("utf-8")
    parts["[Content_Types].xml"] = types.replace(
        "</Types>",
        '<Override PartName="/word/numbering.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.wordprocessingml.numbering+xml"/></Types>').encode("utf-8")
    return parts


def main():
    if shutil.which("soffice") is None:
        raise SystemExit("soffice not found: apt-get install -y libreoffice-writer fonts-noto-cjk")
    parts = fixed_dates(soffice_docx(rendered_html()))
    write_docx(HERE / "baoqing-county-2024.docx", parts)
    write_docx(HERE / "baoqing-county-2024.wps.docx", wps_variant(parts))


if __name__ == "__main__":
    main()
