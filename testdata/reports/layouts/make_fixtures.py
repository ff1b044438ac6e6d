#!/usr/bin/env python3
"""Builds the layout fixtures from the sample report (../baoqing-county-2024.md).

Every fixture carries the sample's text and its 200 table cells, published in
another layout: an HTML page (UTF-8, and GBK), pipe rows, one cell per line
with and without lone "|" lines, T3 split into one table per group; plus the
2019 trial format, and copies with planted defects under defects/ (among
them what real published reports do: the title only in <title>, broken over
two lines, or only the statistics period; misprinted labels; the trial
format's single （六）其他处理 row; a blank row; ways of saying no fee).
make_docx_fixtures.py beside it builds the Word files. Run it from anywhere; it rewrites the files
beside it. The tests in crates/document/tests/layouts.rs say what each must
import to.
"""
import pathlib
import re

HERE = pathlib.Path(__file__).resolve().parent
SAMPLE = (HERE.parent / "baoqing-county-2024.md").read_text(encoding="utf-8")

# ----------------------------------------------------------------- the text
def section_lines(ordinal):
    """Prose lines of a section of the sample (Markdown markers dropped)."""
    lines, inside = [], False
    for line in SAMPLE.splitlines():
        m = re.match(r"^#+\s*(.*)$", line)
        head = m.group(1) if m else line
        if re.match(r"^[一二三四五六]、", head):
            inside = head.startswith(ordinal + "、")
            continue
        if inside and line.strip() and "\t" not in line:
            lines.append(line.lstrip("#").strip())
    return lines

OVERVIEW = section_lines("一")
PROBLEMS = section_lines("五")
OTHER = section_lines("六")
HEADINGS = {
    "一": "一、总体情况",
    "二": "二、主动公开政府信息情况",
    "三": "三、收到和处理政府信息公开申请情况",
    "四": "四、政府信息公开行政复议、行政诉讼情况",
    "五": "五、存在的主要问题及改进情况",
    "六": "六、其他需要报告的事项",
}

# ----------------------------------------------------------------- the tables
T2 = [
    ("第二十条第（一）项", ["本年制发件数", "本年废止件数", "现行有效件数"],
     [("规章", ["0", "0", "0"]), ("行政规范性文件", ["11", "5", "60"])]),
    ("第二十条第（五）项", ["本年处理决定数量"], [("行政许可", ["8430"])]),
    ("第二十条第（六）项", ["本年处理决定数量"], [("行政处罚", ["1659"]), ("行政强制", ["9"])]),
    ("第二十条第（八）项", ["本年收费金额（单位：万元）"], [("行政事业性收费", ["14852.1812"])]),
]
NOTE = "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）"
COLS = ["自然人", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他", "总计"]
ORGS = COLS[1:6]
OUTCOME = "三、本年度办理结果"
# (group, label, natural person count): the sample's T3, where only 自然人 and
# 总计 hold non-zero counts.
T3 = [
    ("", "一、本年新收政府信息公开申请数量", 78),
    ("", "二、上年结转政府信息公开申请数量", 0),
    (OUTCOME, "（一）予以公开", 14),
    (OUTCOME, "（二）部分公开（区分处理的，只计这一情形，不计其他情形）", 26),
    ("（三）不予公开", "1.属于国家秘密", 1),
    ("（三）不予公开", "2.其他法律行政法规禁止公开", 1),
    ("（三）不予公开", "3.危及“三安全一稳定”", 0),
    ("（三）不予公开", "4.保护第三方合法权益", 6),
    ("（三）不予公开", "5.属于三类内部事务信息", 0),
    ("（三）不予公开", "6.属于四类过程性信息", 1),
    ("（三）不予公开", "7.属于行政执法案卷", 0),
    ("（三）不予公开", "8.属于行政查询事项", 0),
    ("（四）无法提供", "1.本机关不掌握相关政府信息", 24),
    ("（四）无法提供", "2.没有现成信息需要另行制作", 0),
    ("（四）无法提供", "3.补正后申请内容仍不明确", 0),
    ("（五）不予处理", "1.信访举报投诉类申请", 2),
    ("（五）不予处理", "2.重复申请", 0),
    ("（五）不予处理", "3.要求提供公开出版物", 0),
    ("（五）不予处理", "4.无正当理由大量反复申请", 0),
    ("（五）不予处理", "5.要求行政机关确认或重新出具已获取信息", 0),
    ("（六）其他处理", "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请", 3),
    ("（六）其他处理", "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请", 0),
    ("（六）其他处理", "3.其他", 0),
    (OUTCOME, "（七）总计", 78),
    ("", "四、结转下年度继续办理", 1),
]
T4_VALUES = ["1", "1", "0", "2", "4"] + ["0"] * 10
T4_COLS = ["结果维持", "结果纠正", "其他结果", "尚未审结", "总计"]


def t3_values(n):
    return [str(n), "0", "0", "0", "0", "0", str(n)]


# ----------------------------------------------------------------- HTML
def html_page(t3_rows=T3, overview=OVERVIEW, cell=lambda loc, v: v, charset="utf-8"):
    """A page as a county site's CMS publishes it: navigation, breadcrumb,
    scripts and a footer around the article; headings as <p><strong>;
    tables with rowspan/colspan, labels broken over lines, &nbsp; cells."""
    o = []
    w = o.append
    w(f'<!DOCTYPE html>\n<html>\n<head>\n<meta http-equiv="Content-Type" content="text/html; charset={charset}">')
    w("<title>宝清县人民政府2024年政府信息公开工作年度报告_宝清县人民政府</title>")
    w('<script type="text/javascript">var _hmt = _hmt || []; document.write("一、总体情况");</script>')
    w('<style>.nav li{float:left}</style>\n</head>\n<body>')
    w('<div class="header"><img src="/images/logo.png" alt="宝清县人民政府"><div class="search">搜索</div></div>')
    w('<div class="nav"><ul><li><a href="/">首页</a></li><li><a href="/zwgk/">政务公开</a></li>'
      '<li><a href="/zfxxgk/">政府信息公开</a></li><li><a href="/hdjl/">互动交流</a></li></ul></div>')
    w('<div class="position">当前位置：<a href="/">首页</a> &gt; <a href="/zfxxgk/">政府信息公开</a> &gt; 政府信息公开年报</div>')
    w('<div class="article">')
    w('<h1 class="article-title">宝清县人民政府</h1>')
    w('<p style="text-align:center"><strong>2024年政府信息公开工作年度报告</strong></p>')
    w('<div class="info"><span>发布日期：2025-01-20</span>&nbsp;&nbsp;<span>来源：宝清县人民政府办公室</span></div>')
    w('<div class="TRS_Editor">')

    def heading(text):
        w(f'<p style="text-indent:2em"><strong><span style="font-family:黑体">{text}</span></strong></p>')

    def para(text):
        text = text.replace("**", "")
        w(f'<p style="text-indent:2em"><span style="font-size:16px">{text}</span></p>')

    heading(HEADINGS["一"])
    for line in overview:
        if re.match(r"^（[一二三四五六七八九十]）", line):
            w(f"<p><strong>{line}</strong></p>")
        else:
            para(line)
    heading(HEADINGS["二"])
    w('<table border="1" cellspacing="0" cellpadding="0" width="600">\n<tbody>')
    for item, cols, rows in T2:
        w(f'<tr><td colspan="4" style="background:#dbe5f1"><p align="center"><strong>{item}</strong></p></td></tr>')
        spare = 3 - len(cols)
        heads = "".join(
            f'<td{" colspan=%d" % (spare + 1) if i == len(cols) - 1 and spare else ""}><p align="center">{c}</p></td>'
            for i, c in enumerate(cols))
        w(f"<tr><td><p align=\"center\">信息内容</p></td>{heads}</tr>")
        for label, values in rows:
            cells = "".join(
                f'<td{" colspan=%d" % (spare + 1) if i == len(values) - 1 and spare else ""}><p align="center">{cell(("t2", label, i), v)}</p></td>'
                for i, v in enumerate(values))
            w(f"<tr><td><p align=\"center\">{label}</p></td>{cells}</tr>")
    w("</tbody>\n</table>")
    heading(HEADINGS["三"])
    w('<table border="1" cellspacing="0" cellpadding="0">\n<tbody>')
    w(f'<tr><td colspan="3" rowspan="3"><p>{NOTE}</p></td><td colspan="7"><p align="center">申请人情况</p></td></tr>')
    w('<tr><td rowspan="2"><p align="center">自然人</p></td><td colspan="5"><p align="center">法人或其他组织</p></td>'
      '<td rowspan="2"><p align="center">总计</p></td></tr>')
    w("<tr>" + "".join(f'<td><p align="center">{c}</p></td>' for c in ORGS) + "</tr>")
    outcome_rows = sum(1 for g, _, _ in t3_rows if g)
    opened = set()
    for group, label, n in t3_rows:
        values = "".join(f"<td>{cell(('t3', label, i), v)}</td>" for i, v in enumerate(t3_values(n)))
        if not group:
            w(f'<tr><td colspan="3"><p>{label}</p></td>{values}</tr>')
            continue
        lead = ""
        if OUTCOME not in opened:
            opened.add(OUTCOME)
            lead += f'<td rowspan="{outcome_rows}"><p>{OUTCOME}</p></td>'
        if group == OUTCOME:
            w(f'<tr>{lead}<td colspan="2"><p>{label}</p></td>{values}</tr>')
            continue
        if group not in opened:
            opened.add(group)
            size = sum(1 for g, _, _ in t3_rows if g == group)
            lead += f'<td rowspan="{size}"><p>{group}</p></td>'
        w(f"<tr>{lead}<td><p>{label}</p></td>{values}</tr>")
    w("</tbody>\n</table>")
    heading(HEADINGS["四"])
    w('<table border="1" cellspacing="0" cellpadding="0">\n<tbody>')
    w('<tr><td colspan="5"><p align="center">行政复议</p></td><td colspan="10"><p align="center">行政诉讼</p></td></tr>')
    w("<tr>" + "".join(f'<td rowspan="2"><p align="center">{c[:2]}<br>{c[2:]}</p></td>' for c in T4_COLS)
      + '<td colspan="5"><p align="center">未经复议直接起诉</p></td><td colspan="5"><p align="center">复议后起诉</p></td></tr>')
    w("<tr>" + "".join(f'<td><p align="center">{c[:2]}<br>{c[2:]}</p></td>' for c in T4_COLS * 2) + "</tr>")
    w("<tr>" + "".join(f"<td>{cell(('t4', '', i), v)}</td>" for i, v in enumerate(T4_VALUES)) + "</tr>")
    w("</tbody>\n</table>")
    heading(HEADINGS["五"])
    for line in PROBLEMS:
        para(line)
    heading(HEADINGS["六"])
    for line in OTHER:
        para(line)
    w("</div>")
    w('<div class="share">分享到：微信 微博</div>')
    w('<div class="print-close">【<a href="javascript:window.print()">打印本页</a>】【<a href="javascript:window.close()">关闭窗口</a>】</div>')
    w("</div>")
    w('<div class="footer"><p>主办：宝清县人民政府办公室 &nbsp; 网站标识码：2305230001</p><p>黑ICP备00000000号</p></div>')
    w('<script>document.getElementById("x");</script>\n</body>\n</html>\n')
    return "\n".join(o)


def word_page():
    """The same article as Word's "save as web page" writes it, pasted into
    a CMS: Office namespaces and conditional comments, MsoNormal paragraphs
    in every cell, <o:p> and mso-spacerun spans, unquoted and single-quoted
    attributes, and the row of empty width cells Word ends each table with."""
    page = html_page()
    head_end = page.index("</head>")
    head = (
        '<html xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" '
        'xmlns:w="urn:schemas-microsoft-com:office:word" xmlns="http://www.w3.org/TR/REC-html40">\n<head>\n'
        '<meta http-equiv=Content-Type content="text/html; charset=utf-8">\n'
        '<meta name=Generator content="Microsoft Word 15 (filtered)">\n'
        "<title>宝清县人民政府2024年政府信息公开工作年度报告</title>\n"
        "<!--[if gte mso 9]><xml><w:WordDocument><w:View>Print</w:View></w:WordDocument></xml><![endif]-->\n"
        "<style>\n<!--\np.MsoNormal {margin:0cm; font-size:10.5pt;}\n-->\n</style>\n"
    )
    page = head + page[head_end:]
    mso_p = "<p class=MsoNormal align=center style='text-align:center'><span lang=EN-US style='font-size:10.5pt'>{}<o:p></o:p></span></p>"
    # Cells: Word's attributes, every content in an MsoNormal paragraph.
    page = re.sub(r'<p align="center">(.*?)</p>', lambda m: mso_p.format(m.group(1)), page)
    page = re.sub(r"<td>([^<]*)</td>", lambda m: "<td>" + mso_p.format(m.group(1)) + "</td>", page)
    page = page.replace(' style="background:#dbe5f1"', '')
    page = re.sub(r"<td([ >])", r"<td width=57 valign=top style='width:42.5pt;border:solid windowtext 1.0pt;padding:0cm 5.4pt 0cm 5.4pt'\1", page)
    page = page.replace('<table border="1" cellspacing="0" cellpadding="0"',
                        "<table class=MsoNormalTable border=1 cellspacing=0 cellpadding=0 style='border-collapse:collapse;mso-yfti-tbllook:1184'")
    page = page.replace("<tr>", "<tr style='mso-yfti-irow:0'>")
    page = page.replace("</tbody>", "<![if !supportMisalignedColumns]><tr height=0>"
                        + "<td width=57 style='border:none'></td>" * 3 + "</tr><![endif]>\n</tbody>")
    # Prose: MsoNormal paragraphs, spaces Word keeps as mso-spacerun.
    page = page.replace('<p style="text-indent:2em">', "<p class=MsoNormal style='text-indent:32.0pt;mso-char-indent-count:2.0'>")
    page = page.replace("<strong>", "<b>").replace("</strong>", "<span lang=EN-US><o:p></o:p></span></b>")
    page = page.replace("发布日期：", "发布日期：<span style='mso-spacerun:yes'>&nbsp;</span>")
    return page


# ----------------------------------------------------------------- text forms
def text_preamble():
    return ["# 宝清县人民政府", "", "## 2024年政府信息公开工作年度报告", ""]


def prose(ordinal, lines):
    out = [f"### {HEADINGS[ordinal]}", ""]
    for line in lines:
        out += [line, ""]
    return out


def pipe_text(t3_rows=T3, overview=OVERVIEW, cell=lambda loc, v: v):
    """Pipe rows as a word processor exports them: no leading pipe, merged
    cells flattened, some cells in full-width digits or with thousands
    separators, stray spaces inside labels."""
    o = text_preamble() + prose("一", overview) + [f"### {HEADINGS['二']}", ""]
    for item, cols, rows in T2:
        o.append(f"{item} | | | |")
        o.append("信息内容 | " + " | ".join(cols) + " |" + " |" * (3 - len(cols)))
        for label, values in rows:
            vals = [cell(("t2", label, i), v) for i, v in enumerate(values)]
            o.append(f"{label} | " + " | ".join(vals) + " |" + " |" * (3 - len(values)))
    o += ["", f"### {HEADINGS['三']}", ""]
    o.append(f"{NOTE} | | | 申请人情况 | | | | | | |")
    o.append(" | | | 自 然 人 | 法人或其他组织 | | | | | 总计 |")
    o.append(" | | | | " + " | ".join(ORGS) + " | |")
    opened = set()
    for group, label, n in t3_rows:
        vals = " | ".join(cell(("t3", label, i), v) for i, v in enumerate(t3_values(n)))
        if not group:
            o.append(f"{label} | | | {vals} |")
            continue
        first = ""
        if OUTCOME not in opened:
            opened.add(OUTCOME)
            first = OUTCOME
        if group == OUTCOME:
            o.append(f"{first} | {label} | | {vals} |")
            continue
        second = ""
        if group not in opened:
            opened.add(group)
            second = group
        o.append(f"{first} | {second} | {label} | {vals} |")
    o += ["", f"### {HEADINGS['四']}", ""]
    o.append("行政复议 | | | | | 行政诉讼 | | | | | | | | | |")
    o.append(" | ".join(f"{c[:2]} {c[2:]}" for c in T4_COLS) + " | 未经复议直接起诉 | | | | | 复议后起诉 | | | | |")
    o.append(" | | | | | " + " | ".join(f"{c[:2]} {c[2:]}" for c in T4_COLS * 2) + " |")
    o.append(" | ".join(cell(("t4", "", i), v) for i, v in enumerate(T4_VALUES)) + " |")
    o += [""] + prose("五", PROBLEMS) + prose("六", OTHER)
    return "\n".join(o)


def cell_lines(bars, t3_rows=T3, overview=OVERVIEW, cell=lambda loc, v: v):
    """Tables flattened to one cell per line, as copying a table out of some
    viewers gives; with bars, each row ends in a line holding only "|"."""
    o = text_preamble() + prose("一", overview) + [HEADINGS["二"], ""]

    def row(cells):
        # A cell left empty (BLANK) is an empty line, as a copied table gives.
        o.extend("" if c is BLANK else c for c in cells if c != "")
        if bars:
            o.append("|")

    for item, cols, rows in T2:
        row([item])
        row(["信息内容"] + cols)
        for label, values in rows:
            row([label] + [cell(("t2", label, i), v) for i, v in enumerate(values)])
    o += ["", HEADINGS["三"]]
    row([NOTE, "申请人情况"])
    row(["自然人", "法人或其他组织", "总计"])
    row(ORGS)
    opened = set()
    for group, label, n in t3_rows:
        lead = []
        if group and OUTCOME not in opened:
            opened.add(OUTCOME)
            lead.append(OUTCOME)
        if group and group != OUTCOME and group not in opened:
            opened.add(group)
            lead.append(group)
        row(lead + [label] + [cell(("t3", label, i), v) for i, v in enumerate(t3_values(n))])
    o += ["", HEADINGS["四"]]
    row(["行政复议", "行政诉讼"])
    row(T4_COLS + ["未经复议直接起诉", "复议后起诉"])
    row(T4_COLS * 2)
    row([cell(("t4", "", i), v) for i, v in enumerate(T4_VALUES)])
    o += [""] + [HEADINGS["五"], ""] + PROBLEMS + [""] + [HEADINGS["六"], ""] + OTHER
    return "\n".join(o) + "\n"


# ----------------------------------------------------------------- tab-separated T3
def t3_rows_tab(rows, opened):
    """T3 rows as the sample writes them: group labels (each once, where it
    opens, across tables) in the first two cells, the label, seven values."""
    out = []
    for group, label, n in rows:
        cells = ["", "", ""]
        if not group:
            cells[0] = label
        else:
            if OUTCOME not in opened:
                opened.add(OUTCOME)
                cells[0] = OUTCOME
            if group == OUTCOME:
                cells[1] = label
            else:
                if group not in opened:
                    opened.add(group)
                    cells[1] = group
                cells[2] = label
        out.append("\t".join(cells + t3_values(n)))
    return out


T3_HEADER_TAB = [
    f"{NOTE}\t\t\t申请人情况\t\t\t\t\t\t",
    "\t\t\t自然人\t法人或其他组织\t\t\t\t\t总计",
    "\t\t\t\t" + "\t".join(ORGS) + "\t",
]



# ----------------------------------------------------------------- 2019 trial
def trial_2020():
    """The sample as its 2020 report would have been published in the 2019
    trial format: T2's trial blocks (including 第（九）项 政府集中采购), T3's
    single （六）其他处理 row holding R21..R23's 3, the same T4."""
    o = ["# 宝清县人民政府", "", "## 2020年政府信息公开工作年度报告", ""] + prose("一", OVERVIEW)
    o += [f"## {HEADINGS['二']}", ""]
    trial_t2 = [
        ("第二十条第（一）项", ["本年新制作数量", "本年新公开数量", "对外公开总数量"],
         [("规章", ["0", "0", "0"]), ("规范性文件", ["11", "11", "60"])]),
        ("第二十条第（五）项", ["上一年项目数量", "本年增/减", "处理决定数量"],
         [("行政许可", ["312", "-4", "8430"]), ("其他对外管理服务事项", ["45", "+2", "120"])]),
        ("第二十条第（六）项", ["上一年项目数量", "本年增/减", "处理决定数量"],
         [("行政处罚", ["1021", "3", "1659"]), ("行政强制", ["36", "0", "9"])]),
        ("第二十条第（八）项", ["上一年项目数量", "本年增/减"], [("行政事业性收费", ["18", "-1"])]),
        ("第二十条第（九）项", ["采购项目数量", "采购总金额"], [("政府集中采购", ["27", "3150.45"])]),
    ]
    for item, cols, rows in trial_t2:
        o.append(f"{item}\t\t\t")
        o.append("信息内容\t" + "\t".join(cols) + "\t" * (3 - len(cols)))
        for label, values in rows:
            o.append(f"{label}\t" + "\t".join(values) + "\t" * (3 - len(values)))
    o += ["", f"### {HEADINGS['三']}", ""]
    o += T3_HEADER_TAB
    rows = [r for r in T3 if r[0] != "（六）其他处理"]
    at = next(i for i, r in enumerate(rows) if r[1] == "（七）总计")
    rows.insert(at, (OUTCOME, "（六）其他处理", 3))
    o += t3_rows_tab(rows, set())
    o += ["", f"### {HEADINGS['四']}", ""]
    o.append("行政复议\t\t\t\t\t行政诉讼\t\t\t\t\t\t\t\t\t")
    o.append("\t".join(T4_COLS) + "\t未经复议直接起诉\t\t\t\t\t复议后起诉\t\t\t\t")
    o.append("\t\t\t\t\t" + "\t".join(T4_COLS * 2))
    o.append("\t".join(T4_VALUES))
    o += [""] + prose("五", PROBLEMS) + prose("六", OTHER)
    return "\n".join(o) + "\n"


# ----------------------------------------------------------------- defects
def changed_cell(loc, v):
    # t3 （一）予以公开 自然人: 14 published as 15 (its 总计 left at 14).
    return "15" if loc == ("t3", "（一）予以公开", 0) else v


def blank_and_units(loc, v):
    if loc == ("t3", "2.重复申请", 1):
        return "—"
    if loc == ("t3", "3.要求提供公开出版物", 2):
        return "/"
    if loc == ("t3", "3.其他", 3):
        return "&nbsp;"
    if loc == ("t2", "行政事业性收费", 0):
        return "148521812元"
    if loc == ("t2", "行政许可", 0):
        return "8430件"
    return v


BLANK = object()


def blank_lines(loc, v):
    """Cells left empty, copied out as empty lines: the values after them
    must stay in their columns."""
    if loc == ("t3", "（二）部分公开（区分处理的，只计这一情形，不计其他情形）", 2):
        return BLANK
    if loc == ("t4", "", 7):
        return BLANK
    return v


def variants(loc, v):
    """Full-width digits and thousands separators, as some sites print them."""
    if loc == ("t2", "行政许可", 0):
        return "8,430"
    if loc == ("t2", "行政处罚", 0):
        return "１，６５９"
    if loc == ("t3", "一、本年新收政府信息公开申请数量", 0):
        return "７８"
    return v


MISSING_ROW = [r for r in T3 if r[1] != "2.重复申请"]
DISAGREEING = [line.replace("共办理政府信息公开申请78件", "共办理政府信息公开申请80件") for line in OVERVIEW]
DISAGREEING.append("本年度新收政府信息公开申请78件，上年结转0件，行政复议4件，制发规范性文件12件。")


# ----------------------------------------------------------------- as really published (issue 12)
# Each made from the sample's own text (SAMPLE, tab-separated) or layouts
# above, with one thing changed the way real published reports have it.
SAMPLE_TITLE = "# 宝清县人民政府\n\n## 2024年政府信息公开工作年度报告\n"
assert SAMPLE_TITLE in SAMPLE


def sample_with(*pairs):
    text = SAMPLE
    for old, new in pairs:
        assert old in text, old
        text = text.replace(old, new)
    return text


OVERVIEW_HEAD = "### 一、总体情况\n\n"


def page_title_only():
    """The year and agency only in the page's <title>: the article starts
    with its first section."""
    page = html_page()
    for line in ('<h1 class="article-title">宝清县人民政府</h1>',
                 '<p style="text-align:center"><strong>2024年政府信息公开工作年度报告</strong></p>'):
        assert line in page
        page = page.replace(line + "\n", "")
    return page


def t3_chunks():
    """T3 in five tables, one per group, as PDF pages and converters split it."""
    bounds = [0, 4, 12, 15, 20, 25]
    return [T3[a:b] for a, b in zip(bounds, bounds[1:])]


def sample_t3(replacement):
    """The sample with its T3 (header and rows) replaced."""
    start = SAMPLE.index("(本列数据的勾稽关系为")
    end = SAMPLE.index("四、结转下年度继续办理")
    end = SAMPLE.index("\n", end) + 1
    return SAMPLE[:start] + replacement + SAMPLE[end:]


def t3_split_tab():
    """Tab-separated, T3 as five tables with their own header rows; one
    (（四）无法提供) broken off by a page without a repeated header."""
    parts, opened = [], set()
    for i, chunk in enumerate(t3_chunks()):
        if i:
            parts.append(f"续表{i}")
        if i != 2:
            parts += T3_HEADER_TAB
        parts += t3_rows_tab(chunk, opened)
    return sample_t3("\n".join(parts) + "\n")


def t3_split_markdown():
    """T3 as a PDF-to-Markdown converter writes it: one pipe table per page,
    each with a one-row header and its separator."""
    parts = []
    header = "| 申请人情况 | | " + " | ".join(COLS) + " |"
    for chunk in t3_chunks():
        parts += ["", header, "|" + "---|" * (len(COLS) + 2)]
        opened = set()
        for group, label, n in chunk:
            first = group if group and group != OUTCOME and group not in opened else ""
            opened.add(group)
            parts.append(f"| {first} | {label} | " + " | ".join(t3_values(n)) + " |")
    parts.append("")
    return sample_t3("\n".join(parts) + "\n")


MISPRINTS = [
    ("2. 其他法律行政法规禁止公开", "2. 其他法律行政法规禁公开"),
    ("3. 危及“三安全一稳定”", "属于三安一稳定"),
    ("2. 没有现成信息需要另行制作", "2. 没有现成信需另行制作"),
]

TRIAL_OTHER = (
    "\t(六) 其他处理\t1. 申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请\t3\t0\t0\t0\t0\t0\t3\n"
    "\t\t2. 申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请\t0\t0\t0\t0\t0\t0\t0\n"
    "3. 其他\t\t0\t0\t0\t0\t0\t0\t0\t\n",
    "\t(六) 其他处理\t3\t0\t0\t0\t0\t0\t3\n",
)


def issue_12():
    """Fixtures of what real reports do (issue 12, item 3)."""
    return {
        "baoqing-county-2024.t3-split.md": t3_split_tab(),
        "baoqing-county-2024.t3-split.pipe.md": t3_split_markdown(),
        "defects/page-title-only.html": page_title_only(),
        "defects/title-split-after-label.md": sample_with(
            (SAMPLE_TITLE, "标题：宝清县人民政府2024年政府信息\n公开工作年度报告\n")),
        "defects/period-only.md": sample_with(
            ("## 2024年政府信息公开工作年度报告", "## 政府信息公开工作年度报告"),
            (OVERVIEW_HEAD, OVERVIEW_HEAD + "本报告所列数据统计期限自2024年1月1日至12月31日。\n\n")),
        "defects/years-disagree.md": sample_with(
            (OVERVIEW_HEAD, OVERVIEW_HEAD
             + "本报告中所列数据统计期限自2023年1月1日起至2023年12月31日止。\n\n")),
        "defects/labels-misprinted.md": sample_with(*MISPRINTS),
        "defects/trial-other-row.md": sample_with(TRIAL_OTHER),
        "defects/blank-row.md": sample_with(
            ("\t\t2. 重复申请\t0\t0\t0\t0\t0\t0\t0\n", "\t\t2. 重复申请\t\t\t\t\t\t\t\n")),
        "defects/no-fee-said-otherwise.md": sample_with(
            ("依据《政信息公开信息处理费管理办法》，本年度收取信息处理费用为0。",
             "严格落实《政府信息公开信息处理费管理办法》。\n\n本年度未收取任何费用。")),
        "defects/numbers-spaced.md": sample_with(
            ("共办理政府信息公开申请78件。", "共办理政府信息公开申请 80\n件。")),
    }


def main():
    out = {
        "baoqing-county-2024.html": html_page(),
        "baoqing-county-2024.word.html": word_page(),
        "baoqing-county-2024.pipe.md": pipe_text(cell=variants),
        "baoqing-county-2024.cells.txt": cell_lines(bars=True),
        "baoqing-county-2024.cells-nobars.txt": cell_lines(bars=False),
        "baoqing-county-2020-trial.md": trial_2020(),
        "defects/cell-changed.pipe.md": pipe_text(cell=changed_cell),
        "defects/row-missing.html": html_page(t3_rows=MISSING_ROW),
        "defects/prose-disagrees.cells.txt": cell_lines(bars=True, overview=DISAGREEING),
        "defects/prose-disagrees.html": html_page(overview=DISAGREEING),
        "defects/blank-and-units.html": html_page(cell=blank_and_units),
        "defects/blank-lines.cells-nobars.txt": cell_lines(bars=False, cell=blank_lines),
        **issue_12(),
    }
    for name, text in out.items():
        path = HERE / name
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    gbk = html_page(charset="gb2312")
    (HERE / "baoqing-county-2024.gbk.html").write_bytes(gbk.encode("gbk"))


if __name__ == "__main__":
    main()
