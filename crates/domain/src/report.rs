//! The annual report as the checker sees it, and its exact mapping to and
//! from the wire form.

use chrono::NaiveDate;
use gongkai_proto::v1 as pb;

use crate::shape::{T2, T3, T4};

/// Which national layout a report follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FormatVersion {
    /// 国办公开办函〔2021〕30号, data years from 2021.
    Current2021,
    /// 国办公开办函〔2019〕60号 试行格式, data years 2019–2020.
    Trial2019,
}

impl FormatVersion {
    /// The format a data year is to be reported in: the trial format before
    /// 2021, the 2021 format from then on.
    pub fn of_year(year: u32) -> FormatVersion {
        if year >= crate::catalogue::FORMAT_2021_YEAR {
            FormatVersion::Current2021
        } else {
            FormatVersion::Trial2019
        }
    }
}

impl std::fmt::Display for FormatVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FormatVersion::Current2021 => "2021年格式（国办公开办函〔2021〕30号）",
            FormatVersion::Trial2019 => "2019年试行格式（国办公开办函〔2019〕60号）",
        })
    }
}

/// The administrative level of the publishing agency.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AgencyLevel {
    /// 国务院部门
    National,
    /// 省级
    Provincial,
    /// 市级（设区的市）
    Prefectural,
    /// 县级
    County,
    /// 乡镇、街道
    Township,
}

impl AgencyLevel {
    /// The level a wire value names; `None` for `AGENCY_LEVEL_UNSPECIFIED`.
    pub fn from_wire(level: pb::AgencyLevel) -> Option<AgencyLevel> {
        match level {
            pb::AgencyLevel::Unspecified => None,
            pb::AgencyLevel::National => Some(AgencyLevel::National),
            pb::AgencyLevel::Provincial => Some(AgencyLevel::Provincial),
            pb::AgencyLevel::Prefectural => Some(AgencyLevel::Prefectural),
            pb::AgencyLevel::County => Some(AgencyLevel::County),
            pb::AgencyLevel::Township => Some(AgencyLevel::Township),
        }
    }

    /// Whether bodies of this level can make 规章 at all. County level and
    /// below cannot (《立法法》第九十三条: only 国务院部门, 省级 and 设区的市 governments).
    pub fn may_make_regulations(self) -> bool {
        matches!(
            self,
            AgencyLevel::National | AgencyLevel::Provincial | AgencyLevel::Prefectural
        )
    }
}

/// The six sections, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Section {
    /// 一、总体情况
    Overview,
    /// 二、主动公开政府信息情况
    ActiveDisclosure,
    /// 三、收到和处理政府信息公开申请情况
    Applications,
    /// 四、政府信息公开行政复议、行政诉讼情况
    ReconsiderationLitigation,
    /// 五、存在的主要问题及改进情况
    ProblemsAndImprovements,
    /// 六、其他需要报告的事项
    OtherMatters,
}

/// Declaration of a section.
#[derive(Debug)]
pub struct SectionSpec {
    /// The section.
    pub section: Section,
    /// Chinese ordinal, e.g. "三".
    pub ordinal: &'static str,
    /// Official heading without the ordinal.
    pub title: &'static str,
    /// Words that identify the heading when its wording drifted.
    pub keywords: &'static [&'static str],
}

/// The six sections in order.
pub const SECTIONS: [SectionSpec; 6] = [
    SectionSpec {
        section: Section::Overview,
        ordinal: "一",
        title: "总体情况",
        keywords: &["总体"],
    },
    SectionSpec {
        section: Section::ActiveDisclosure,
        ordinal: "二",
        title: "主动公开政府信息情况",
        keywords: &["主动公开"],
    },
    SectionSpec {
        section: Section::Applications,
        ordinal: "三",
        title: "收到和处理政府信息公开申请情况",
        keywords: &["申请"],
    },
    SectionSpec {
        section: Section::ReconsiderationLitigation,
        ordinal: "四",
        title: "政府信息公开行政复议、行政诉讼情况",
        keywords: &["复议", "诉讼"],
    },
    SectionSpec {
        section: Section::ProblemsAndImprovements,
        ordinal: "五",
        title: "存在的主要问题及改进情况",
        keywords: &["问题", "改进"],
    },
    SectionSpec {
        section: Section::OtherMatters,
        ordinal: "六",
        title: "其他需要报告的事项",
        keywords: &["其他"],
    },
];

impl Section {
    /// Its declaration.
    pub fn spec(self) -> &'static SectionSpec {
        &SECTIONS[self as usize]
    }

    /// The official heading, e.g. "六、其他需要报告的事项".
    pub fn heading(self) -> String {
        format!("{}、{}", self.spec().ordinal, self.spec().title)
    }

    /// 1-based number, for locations such as `section.6`.
    pub fn number(self) -> usize {
        (self as usize).saturating_add(1)
    }
}

/// Who published the report, and for which year.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Metadata {
    /// 统一社会信用代码, when the text carries it.
    pub agency_uscc: Option<String>,
    /// 机关名称.
    pub agency_name: String,
    /// 行政区划代码, when known.
    pub region_code: Option<String>,
    /// 数据年度; 0 when it could not be read.
    pub data_year: u32,
    /// 发布日期.
    pub publication_date: Option<NaiveDate>,
    /// 层级, when known.
    pub agency_level: Option<AgencyLevel>,
}

/// One agency's annual report for one data year.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// Who and when.
    pub metadata: Metadata,
    /// Which national layout.
    pub format: FormatVersion,
    /// The prose of each section, indexed by [`Section`]; `None` when the
    /// section is missing.
    pub sections: [Option<String>; 6],
    /// 二 (T2), in the layout of `format`; `None` when missing.
    pub t2: Option<T2>,
    /// 三 (T3); `None` when missing.
    pub t3: Option<T3>,
    /// 四 (T4); `None` when missing.
    pub t4: Option<T4>,
}

impl Report {
    /// An empty report in a format: every table present and zero, every
    /// section present and empty.
    pub fn empty(format: FormatVersion, data_year: u32) -> Report {
        Report {
            metadata: Metadata {
                data_year,
                ..Metadata::default()
            },
            format,
            sections: std::array::from_fn(|_| Some(String::new())),
            t2: Some(T2::zeros(format.t2_layout())),
            t3: Some(T3::default()),
            t4: Some(T4::default()),
        }
    }

    /// A report a caller sends: as `TryFrom`, and every amount of a T2
    /// that is present must be stated (`"0"` for none), unless its row is
    /// listed in `absent_rows` (unknown: `import.row-missing`). The wire form
    /// cannot tell an amount left out from 0, and a missing amount is not
    /// 0: a caller is told so ([`ConvertError::AmountMissing`]), as a
    /// published table's blank cell is the importer's `import.blank-cell`
    /// (read as 0, and said). Stored reports are read with `TryFrom`, which
    /// keeps reading such an amount as the 0 it was accepted as before.
    pub fn from_request(p: &pb::AnnualReport) -> Result<Report, ConvertError> {
        let report = match Report::try_from(p) {
            // Blank but present: the same missing amount.
            Err(ConvertError::Money {
                field,
                reason: crate::MoneyError::Empty,
            }) => return Err(ConvertError::AmountMissing(field)),
            other => other?,
        };
        let unstated = report
            .t2
            .as_ref()
            .zip(p.active_disclosure_table.as_ref())
            .and_then(|(t2, wire)| t2.unstated_amount(wire));
        match unstated {
            Some(field) => Err(ConvertError::AmountMissing(field)),
            None => Ok(report),
        }
    }

    /// The text of a section, if present.
    pub fn section(&self, s: Section) -> Option<&str> {
        self.sections[s as usize].as_deref()
    }

    /// The agency's level: stated, or else read off its 行政区划代码, or else
    /// read off its name (乡/镇/街道 bodies, and 县 governments).
    pub fn agency_level(&self) -> Option<AgencyLevel> {
        let m = &self.metadata;
        m.agency_level
            .or_else(|| level_from_name(&m.agency_name))
            .or_else(|| m.region_code.as_deref().and_then(crate::ids::region_level))
    }
}

fn level_from_name(name: &str) -> Option<AgencyLevel> {
    if name.ends_with("街道办事处") || name.ends_with("乡人民政府") || name.ends_with("镇人民政府")
    {
        Some(AgencyLevel::Township)
    } else if name.ends_with("县人民政府") || name.ends_with("旗人民政府") {
        Some(AgencyLevel::County)
    } else {
        None
    }
}

/// Why a wire message is not a report.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConvertError {
    /// `format_version` unspecified or unknown.
    #[error("format_version must be FORMAT_VERSION_2021 or FORMAT_VERSION_2019_TRIAL")]
    FormatUnspecified,
    /// A T2 message of the other format.
    #[error("{table} does not belong to {format}")]
    TableNotInFormat {
        /// The field sent.
        table: &'static str,
        /// The report's format.
        format: FormatVersion,
    },
    /// A T3 row the format does not have.
    #[error("applications.{row} does not exist in {format}")]
    RowNotInFormat {
        /// The row's field.
        row: &'static str,
        /// The report's format.
        format: FormatVersion,
    },
    /// A T3 row or T4 block left out of a table that is present.
    #[error("{0} is missing: a table that is present must have every row")]
    Incomplete(String),
    /// A money field that is not an exact decimal.
    #[error("{field}: {reason}")]
    Money {
        /// Which field.
        field: &'static str,
        /// Why.
        reason: crate::MoneyError,
    },
    /// An amount of a T2 that is present, left out or empty: a missing
    /// amount is not 0 (see [`Report::from_request`]).
    #[error(
        "{0}: no amount given; a missing amount is not 0 (send \"0\" when there was none, or list the row in absent_rows when it is unknown)"
    )]
    AmountMissing(&'static str),
    /// A publication date that is not YYYY-MM-DD.
    #[error("metadata.publication_date '{0}' is not a date YYYY-MM-DD")]
    Date(String),
    /// An `absent_rows` entry that names no row of a table present in the
    /// report's format.
    #[error(
        "absent_rows: '{0}' is not a row of a table present in this format (t3.R21, t2.licensing, t4.reconsideration …)"
    )]
    UnknownAbsentRow(String),
    /// A row listed as absent that carries values.
    #[error("absent_rows: '{0}' is listed as absent but holds values")]
    AbsentRowHasValues(String),
}

fn non_empty(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

impl TryFrom<&pb::AnnualReport> for Report {
    type Error = ConvertError;

    fn try_from(p: &pb::AnnualReport) -> Result<Self, Self::Error> {
        use pb::annual_report::ActiveDisclosureTable as Table;
        let format = match pb::FormatVersion::try_from(p.format_version) {
            Ok(pb::FormatVersion::FormatVersion2021) => FormatVersion::Current2021,
            Ok(pb::FormatVersion::FormatVersion2019Trial) => FormatVersion::Trial2019,
            _ => return Err(ConvertError::FormatUnspecified),
        };
        let m = p.metadata.clone().unwrap_or_default();
        let publication_date = match non_empty(&m.publication_date) {
            None => None,
            Some(d) => Some(
                NaiveDate::parse_from_str(&d, "%Y-%m-%d")
                    .map_err(|_| ConvertError::Date(d.clone()))?,
            ),
        };
        let agency_level = pb::AgencyLevel::try_from(m.agency_level)
            .ok()
            .and_then(AgencyLevel::from_wire);
        let metadata = Metadata {
            agency_uscc: non_empty(&m.agency_uscc),
            agency_name: m.agency_name.trim().to_owned(),
            region_code: non_empty(&m.region_code),
            data_year: m.data_year,
            publication_date,
            agency_level,
        };
        let s = p.sections.clone().unwrap_or_default();
        let sections = [
            s.overview,
            s.active_disclosure,
            s.applications,
            s.reconsideration_litigation,
            s.problems_and_improvements,
            s.other_matters,
        ];
        let t2 = match (&p.active_disclosure_table, format) {
            (None, _) => None,
            (Some(Table::ActiveDisclosure(t)), FormatVersion::Current2021) => {
                Some(T2::from_proto_2021(t)?)
            }
            (Some(Table::ActiveDisclosureTrial(t)), FormatVersion::Trial2019) => {
                Some(T2::from_proto_2019(t)?)
            }
            (Some(Table::ActiveDisclosure(_)), f) => {
                return Err(ConvertError::TableNotInFormat {
                    table: "active_disclosure",
                    format: f,
                });
            }
            (Some(Table::ActiveDisclosureTrial(_)), f) => {
                return Err(ConvertError::TableNotInFormat {
                    table: "active_disclosure_trial",
                    format: f,
                });
            }
        };
        let mut t3 = match &p.applications {
            None => None,
            Some(t) => {
                let (t3, missing) = T3::from_proto(t, format)?;
                // A row left out is an error unless it is listed as absent.
                if let Some(row) = missing.iter().find(|r| {
                    !p.absent_rows
                        .iter()
                        .any(|a| a.strip_prefix("t3.") == Some(r.spec().id))
                }) {
                    return Err(ConvertError::Incomplete(format!(
                        "applications.{}",
                        row.spec().key
                    )));
                }
                Some(t3)
            }
        };
        let mut t4 = match &p.reconsideration_litigation {
            None => None,
            Some(t) => {
                let (t4, missing) = T4::from_proto(t);
                if let Some(block) = missing.iter().find(|b| {
                    !p.absent_rows
                        .iter()
                        .any(|a| a.strip_prefix("t4.") == Some(b.spec().key))
                }) {
                    return Err(ConvertError::Incomplete(format!(
                        "reconsideration_litigation.{}",
                        block.spec().key
                    )));
                }
                Some(t4)
            }
        };
        let mut t2 = t2;
        for path in &p.absent_rows {
            mark_absent(path, format, &mut t2, &mut t3, &mut t4)?;
        }
        Ok(Report {
            metadata,
            format,
            sections,
            t2,
            t3,
            t4,
        })
    }
}

/// Marks the row an `absent_rows` path names, refusing one that names no
/// row of a present table or that carries values.
fn mark_absent(
    path: &str,
    format: FormatVersion,
    t2: &mut Option<T2>,
    t3: &mut Option<T3>,
    t4: &mut Option<T4>,
) -> Result<(), ConvertError> {
    use crate::shape::{T3_COLUMNS, T3_ROWS, T4_BLOCKS, T4_COLUMNS, Value};
    let unknown = || ConvertError::UnknownAbsentRow(path.to_owned());
    let has_values = || ConvertError::AbsentRowHasValues(path.to_owned());
    let (table, row) = path.split_once('.').ok_or_else(unknown)?;
    match (table, t2, t3, t4) {
        ("t3", _, Some(t), _) => {
            let spec = T3_ROWS
                .iter()
                .find(|s| s.id == row && s.row.in_format(format))
                .ok_or_else(unknown)?;
            if T3_COLUMNS.iter().any(|c| t.get(spec.row, c.col) != 0) {
                return Err(has_values());
            }
            t.set_absent(spec.row);
        }
        ("t4", _, _, Some(t)) => {
            let spec = T4_BLOCKS
                .iter()
                .find(|b| b.key == row)
                .ok_or_else(unknown)?;
            if T4_COLUMNS.iter().any(|c| t.get(spec.block, c.col) != 0) {
                return Err(has_values());
            }
            t.set_absent(spec.block);
        }
        ("t2", Some(t), _, _) => {
            let layout = format.t2_layout();
            let mut cells = layout.cells().filter(|c| c.row.key == row).peekable();
            if cells.peek().is_none() {
                return Err(unknown());
            }
            if cells.any(|c| t.get(&c) != Value::zero(c.column.kind)) {
                return Err(has_values());
            }
            t.set_row_absent(layout, row);
        }
        _ => return Err(unknown()),
    }
    Ok(())
}

impl Report {
    /// The rows of its tables the published document did not contain, as
    /// location paths (`t3.R21`, `t2.licensing`, `t4.reconsideration`), in
    /// table order.
    pub fn absent_rows(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(t2) = &self.t2 {
            let layout = self.format.t2_layout();
            out.extend(t2.absent_rows(layout).map(|r| format!("t2.{}", r.key)));
        }
        if let Some(t3) = &self.t3 {
            out.extend(
                t3.absent_rows(self.format)
                    .map(|r| format!("t3.{}", r.spec().id)),
            );
        }
        if let Some(t4) = &self.t4 {
            out.extend(
                crate::shape::T4_BLOCKS
                    .iter()
                    .filter(|b| t4.is_absent(b.block))
                    .map(|b| format!("t4.{}", b.key)),
            );
        }
        out
    }
}

impl From<&Report> for pb::AnnualReport {
    fn from(r: &Report) -> Self {
        let m = &r.metadata;
        let agency_level = match m.agency_level {
            None => pb::AgencyLevel::Unspecified,
            Some(AgencyLevel::National) => pb::AgencyLevel::National,
            Some(AgencyLevel::Provincial) => pb::AgencyLevel::Provincial,
            Some(AgencyLevel::Prefectural) => pb::AgencyLevel::Prefectural,
            Some(AgencyLevel::County) => pb::AgencyLevel::County,
            Some(AgencyLevel::Township) => pb::AgencyLevel::Township,
        };
        let [
            overview,
            active_disclosure,
            applications,
            reconsideration_litigation,
            problems_and_improvements,
            other_matters,
        ] = r.sections.clone();
        pb::AnnualReport {
            metadata: Some(pb::ReportMetadata {
                agency_uscc: m.agency_uscc.clone().unwrap_or_default(),
                agency_name: m.agency_name.clone(),
                region_code: m.region_code.clone().unwrap_or_default(),
                data_year: m.data_year,
                publication_date: m
                    .publication_date
                    .map(|d| d.format("%Y-%m-%d").to_string())
                    .unwrap_or_default(),
                agency_level: agency_level.into(),
            }),
            format_version: match r.format {
                FormatVersion::Current2021 => pb::FormatVersion::FormatVersion2021,
                FormatVersion::Trial2019 => pb::FormatVersion::FormatVersion2019Trial,
            }
            .into(),
            sections: Some(pb::SectionTexts {
                overview,
                active_disclosure,
                applications,
                reconsideration_litigation,
                problems_and_improvements,
                other_matters,
            }),
            active_disclosure_table: r.t2.as_ref().map(|t| t.to_proto(r.format)),
            applications: r.t3.as_ref().map(|t| t.to_proto(r.format)),
            reconsideration_litigation: r.t4.as_ref().map(T4::to_proto),
            absent_rows: r.absent_rows(),
        }
    }
}
