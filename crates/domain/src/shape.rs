//! The table shape of the annual report, declared once.
//!
//! Rules, import, render and the proto conversion all walk these tables; no
//! row or column is written out anywhere else. Labels are the official wording
//! of 国办公开办函〔2021〕30号 (and of the 2019 trial format where it differs).

use gongkai_proto::v1 as pb;

use crate::{FormatVersion, Money};

/// The kind of value a cell holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CellKind {
    /// A non-negative count.
    Count,
    /// A signed change (本年增/减, 2019 trial format only).
    Delta,
    /// Money in 万元, exact.
    Money,
}

/// One cell's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value {
    /// A count.
    Count(u64),
    /// A signed change.
    Delta(i64),
    /// Money in 万元.
    Money(Money),
}

impl Value {
    /// The zero of a kind.
    pub fn zero(kind: CellKind) -> Value {
        match kind {
            CellKind::Count => Value::Count(0),
            CellKind::Delta => Value::Delta(0),
            CellKind::Money => Value::Money(Money::ZERO),
        }
    }

    /// The count, if this is one.
    pub fn count(&self) -> Option<u64> {
        match self {
            Value::Count(n) => Some(*n),
            _ => None,
        }
    }
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Count(n) => write!(f, "{n}"),
            Value::Delta(n) => write!(f, "{n}"),
            Value::Money(m) => write!(f, "{m}"),
        }
    }
}

// ---------------------------------------------------------------------------
// T3 — 收到和处理政府信息公开申请情况
// ---------------------------------------------------------------------------

/// A T3 column (申请人情况).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum T3Col {
    /// 自然人
    NaturalPerson,
    /// 法人或其他组织 · 商业企业
    CommercialEnterprise,
    /// 法人或其他组织 · 科研机构
    ResearchInstitution,
    /// 法人或其他组织 · 社会公益组织
    SocialWelfareOrganization,
    /// 法人或其他组织 · 法律服务机构
    LegalServiceAgency,
    /// 法人或其他组织 · 其他
    OtherOrganization,
    /// 总计
    Total,
}

/// Declaration of one T3 column.
#[derive(Debug)]
pub struct T3ColSpec {
    /// The column.
    pub col: T3Col,
    /// Identifier used in locations, e.g. `natural_person`.
    pub key: &'static str,
    /// Official label.
    pub label: &'static str,
    read: fn(&pb::ApplicantCounts) -> u64,
    write: fn(&mut pb::ApplicantCounts, u64),
}

macro_rules! t3_columns {
    ($($var:ident $field:ident $label:literal;)*) => {
        /// The seven T3 columns in official order.
        pub const T3_COLUMNS: [T3ColSpec; 7] = [$(T3ColSpec {
            col: T3Col::$var,
            key: stringify!($field),
            label: $label,
            read: |c| c.$field,
            write: |c, v| c.$field = v,
        },)*];
    };
}

t3_columns! {
    NaturalPerson natural_person "自然人";
    CommercialEnterprise commercial_enterprise "商业企业";
    ResearchInstitution research_institution "科研机构";
    SocialWelfareOrganization social_welfare_organization "社会公益组织";
    LegalServiceAgency legal_service_agency "法律服务机构";
    OtherOrganization other_organization "其他";
    Total total "总计";
}

/// Label of the merged header over the five organisation columns.
pub const T3_ORGANISATION_GROUP: &str = "法人或其他组织";

/// T3's merged header over the seven applicant columns.
pub const T3_APPLICANTS: &str = "申请人情况";

/// T3's own note on its check relation, as the format prints it.
pub const T3_NOTE: &str = "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）";

/// The six columns that add up to 总计.
pub const T3_PARTS: [T3Col; 6] = [
    T3Col::NaturalPerson,
    T3Col::CommercialEnterprise,
    T3Col::ResearchInstitution,
    T3Col::SocialWelfareOrganization,
    T3Col::LegalServiceAgency,
    T3Col::OtherOrganization,
];

impl T3Col {
    /// Its declaration.
    pub fn spec(self) -> &'static T3ColSpec {
        &T3_COLUMNS[self as usize]
    }
}

/// Declaration of one T3 row.
#[derive(Debug)]
pub struct T3RowSpec {
    /// The row.
    pub row: T3Row,
    /// Row id used in locations: `R01`..`R25`, or `other_handling_trial`.
    pub id: &'static str,
    /// The proto field name, e.g. `carried_over`.
    pub key: &'static str,
    /// The official label of the group the row sits in, if any.
    pub group: &'static str,
    /// The official label.
    pub label: &'static str,
    /// A phrase that identifies the row when its label drifted from the
    /// official wording; empty where only the exact label will do.
    pub key_phrase: &'static str,
    read: fn(&pb::ApplicationTable) -> Option<&pb::ApplicantCounts>,
    write: fn(&mut pb::ApplicationTable) -> &mut Option<pb::ApplicantCounts>,
}

macro_rules! t3_rows {
    ($($var:ident $id:literal $field:ident $group:literal $label:literal $phrase:literal;)*) => {
        /// A T3 row. `R01`..`R25` in the 2021 format; the 2019 trial format has
        /// `OtherHandlingTrial` in place of R21..R23.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum T3Row { $(#[doc = $label] $var,)* }

        /// Every T3 row of either format, R01..R25 then the trial row.
        pub const T3_ROWS: [T3RowSpec; 26] = [$(T3RowSpec {
            row: T3Row::$var,
            id: $id,
            key: stringify!($field),
            group: $group,
            label: $label,
            key_phrase: $phrase,
            read: |t| t.$field.as_ref(),
            write: |t| &mut t.$field,
        },)*];
    };
}

t3_rows! {
    R01 "R01" newly_received "" "一、本年新收政府信息公开申请数量" "新收";
    R02 "R02" carried_over "" "二、上年结转政府信息公开申请数量" "上年结转";
    R03 "R03" disclosed "三、本年度办理结果" "（一）予以公开" "予以公开";
    R04 "R04" partially_disclosed "三、本年度办理结果" "（二）部分公开（区分处理的，只计这一情形，不计其他情形）" "部分公开";
    R05 "R05" withheld_state_secret "（三）不予公开" "1.属于国家秘密" "国家秘密";
    R06 "R06" withheld_prohibited_by_law "（三）不予公开" "2.其他法律行政法规禁止公开" "禁止公开";
    R07 "R07" withheld_security_stability "（三）不予公开" "3.危及“三安全一稳定”" "三安全一稳定";
    R08 "R08" withheld_third_party_rights "（三）不予公开" "4.保护第三方合法权益" "第三方";
    R09 "R09" withheld_internal_affairs "（三）不予公开" "5.属于三类内部事务信息" "内部事务";
    R10 "R10" withheld_process_information "（三）不予公开" "6.属于四类过程性信息" "过程性";
    R11 "R11" withheld_enforcement_file "（三）不予公开" "7.属于行政执法案卷" "执法案卷";
    R12 "R12" withheld_administrative_query "（三）不予公开" "8.属于行政查询事项" "查询事项";
    R13 "R13" unavailable_not_held "（四）无法提供" "1.本机关不掌握相关政府信息" "不掌握";
    R14 "R14" unavailable_needs_creation "（四）无法提供" "2.没有现成信息需要另行制作" "另行制作";
    R15 "R15" unavailable_unclear "（四）无法提供" "3.补正后申请内容仍不明确" "仍不明确";
    R16 "R16" not_processed_petition "（五）不予处理" "1.信访举报投诉类申请" "信访";
    R17 "R17" not_processed_repeated "（五）不予处理" "2.重复申请" "重复申请";
    R18 "R18" not_processed_publication "（五）不予处理" "3.要求提供公开出版物" "出版物";
    R19 "R19" not_processed_excessive "（五）不予处理" "4.无正当理由大量反复申请" "大量反复";
    R20 "R20" not_processed_confirmation "（五）不予处理" "5.要求行政机关确认或重新出具已获取信息" "重新出具";
    R21 "R21" other_no_correction "（六）其他处理" "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请" "不补正";
    R22 "R22" other_fee_unpaid "（六）其他处理" "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请" "缴纳费用";
    R23 "R23" other_other "（六）其他处理" "3.其他" "";
    R24 "R24" total_handled "三、本年度办理结果" "（七）总计" "";
    R25 "R25" carried_forward "" "四、结转下年度继续办理" "结转下年度";
    OtherHandlingTrial "other_handling_trial" other_handling_trial "三、本年度办理结果" "（六）其他处理" "";
}

impl T3Row {
    /// Its declaration.
    pub fn spec(self) -> &'static T3RowSpec {
        &T3_ROWS[self as usize]
    }

    /// The rows a format has, in published order: declaration order, except
    /// that the trial format's single （六）其他处理 stands where R21..R23 do.
    pub fn rows_of(format: FormatVersion) -> impl Iterator<Item = T3Row> {
        // T3_ROWS: R01..R20, R21..R23, R24, R25, OtherHandlingTrial.
        let (first, rest) = T3_ROWS.split_at(20);
        let (other, rest) = rest.split_at(3);
        let (totals, trial) = rest.split_at(2);
        let handling = match format {
            FormatVersion::Current2021 => other,
            FormatVersion::Trial2019 => trial,
        };
        first.iter().chain(handling).chain(totals).map(|s| s.row)
    }

    /// The outcome rows (三、本年度办理结果 (一)..(六)) whose sum is R24.
    pub fn outcomes_of(format: FormatVersion) -> impl Iterator<Item = T3Row> {
        Self::rows_of(format)
            .filter(|r| !matches!(r, T3Row::R01 | T3Row::R02 | T3Row::R24 | T3Row::R25))
    }

    /// Whether the row exists in a format.
    pub fn in_format(self, format: FormatVersion) -> bool {
        !matches!(
            (self, format),
            (
                T3Row::R21 | T3Row::R22 | T3Row::R23,
                FormatVersion::Trial2019
            ) | (T3Row::OtherHandlingTrial, FormatVersion::Current2021)
        )
    }
}

/// Number of T3 row slots (25 rows plus the trial format's single row).
pub const T3_ROW_SLOTS: usize = 26;

/// T3: every cell, indexed `[row as usize][col as usize]`, and the rows
/// the published document did not contain.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct T3 {
    cells: [[u64; 7]; T3_ROW_SLOTS],
    /// Rows not in the document: their cells are unknown (held as 0), and no
    /// rule adds them up.
    absent: [bool; T3_ROW_SLOTS],
}

impl T3 {
    /// One cell; 0 for a row the document did not contain (see [`T3::cell`]).
    pub fn get(&self, row: T3Row, col: T3Col) -> u64 {
        self.cells[row as usize][col as usize]
    }

    /// One cell, `None` when its row is absent from the document.
    pub fn cell(&self, row: T3Row, col: T3Col) -> Option<u64> {
        (!self.is_absent(row)).then(|| self.get(row, col))
    }

    /// Sets one cell; its row is present from then on.
    pub fn set(&mut self, row: T3Row, col: T3Col, value: u64) {
        self.cells[row as usize][col as usize] = value;
        self.absent[row as usize] = false;
    }

    /// Marks a row as absent from the document: its cells become unknown.
    pub fn set_absent(&mut self, row: T3Row) {
        self.cells[row as usize] = [0; 7];
        self.absent[row as usize] = true;
    }

    /// Whether the document did not contain this row.
    pub fn is_absent(&self, row: T3Row) -> bool {
        self.absent[row as usize]
    }

    /// The rows of a format the document did not contain, in published order.
    pub fn absent_rows(&self, format: FormatVersion) -> impl Iterator<Item = T3Row> + '_ {
        T3Row::rows_of(format).filter(|r| self.is_absent(*r))
    }

    /// To the wire form, with the rows of `format` present.
    pub fn to_proto(&self, format: FormatVersion) -> pb::ApplicationTable {
        let mut out = pb::ApplicationTable::default();
        for row in T3Row::rows_of(format) {
            let mut counts = pb::ApplicantCounts::default();
            for c in &T3_COLUMNS {
                (c.write)(&mut counts, self.get(row, c.col));
            }
            *(row.spec().write)(&mut out) = Some(counts);
        }
        out
    }

    /// From the wire form. Rows the format does not have must be absent; a
    /// missing row of the format is returned by name.
    pub fn from_proto(
        p: &pb::ApplicationTable,
        format: FormatVersion,
    ) -> Result<(T3, Vec<T3Row>), crate::ConvertError> {
        let mut t = T3::default();
        let mut missing = Vec::new();
        for spec in &T3_ROWS {
            match ((spec.read)(p), spec.row.in_format(format)) {
                (Some(counts), true) => {
                    for c in &T3_COLUMNS {
                        t.set(spec.row, c.col, (c.read)(counts));
                    }
                }
                (None, true) => missing.push(spec.row),
                (Some(_), false) => {
                    return Err(crate::ConvertError::RowNotInFormat {
                        row: spec.key,
                        format,
                    });
                }
                (None, false) => {}
            }
        }
        Ok((t, missing))
    }
}

/// Location path of a T3 cell, e.g. `t3.R25.natural_person`.
pub fn t3_path(row: T3Row, col: T3Col) -> String {
    format!("t3.{}.{}", row.spec().id, col.spec().key)
}

// ---------------------------------------------------------------------------
// T4 — 行政复议、行政诉讼
// ---------------------------------------------------------------------------

/// A T4 block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum T4Block {
    /// 行政复议
    Reconsideration,
    /// 行政诉讼 · 未经复议直接起诉
    LitigationDirect,
    /// 行政诉讼 · 复议后起诉
    LitigationAfterReconsideration,
}

/// A T4 column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum T4Col {
    /// 结果维持
    Upheld,
    /// 结果纠正
    Corrected,
    /// 其他结果
    OtherResult,
    /// 尚未审结
    Pending,
    /// 总计
    Total,
}

/// Declaration of a T4 block.
#[derive(Debug)]
pub struct T4BlockSpec {
    /// The block.
    pub block: T4Block,
    /// Identifier used in locations.
    pub key: &'static str,
    /// The merged header above it ("行政诉讼" for the two litigation blocks).
    pub group: &'static str,
    /// Official label.
    pub label: &'static str,
    read: fn(&pb::ReconsiderationLitigationTable) -> Option<&pb::CaseOutcomes>,
    write: fn(&mut pb::ReconsiderationLitigationTable) -> &mut Option<pb::CaseOutcomes>,
}

/// Declaration of a T4 column.
#[derive(Debug)]
pub struct T4ColSpec {
    /// The column.
    pub col: T4Col,
    /// Identifier used in locations.
    pub key: &'static str,
    /// Official label.
    pub label: &'static str,
    read: fn(&pb::CaseOutcomes) -> u64,
    write: fn(&mut pb::CaseOutcomes, u64),
}

macro_rules! t4_shape {
    (blocks { $($b:ident $bfield:ident $group:literal $blabel:literal;)* }
     columns { $($c:ident $cfield:ident $clabel:literal;)* }) => {
        /// The three T4 blocks in official order.
        pub const T4_BLOCKS: [T4BlockSpec; 3] = [$(T4BlockSpec {
            block: T4Block::$b, key: stringify!($bfield), group: $group, label: $blabel,
            read: |t| t.$bfield.as_ref(), write: |t| &mut t.$bfield,
        },)*];
        /// The five T4 columns in official order.
        pub const T4_COLUMNS: [T4ColSpec; 5] = [$(T4ColSpec {
            col: T4Col::$c, key: stringify!($cfield), label: $clabel,
            read: |c| c.$cfield, write: |c, v| c.$cfield = v,
        },)*];
    };
}

t4_shape! {
    blocks {
        Reconsideration reconsideration "" "行政复议";
        LitigationDirect litigation_direct "行政诉讼" "未经复议直接起诉";
        LitigationAfterReconsideration litigation_after_reconsideration "行政诉讼" "复议后起诉";
    }
    columns {
        Upheld upheld "结果维持";
        Corrected corrected "结果纠正";
        OtherResult other_result "其他结果";
        Pending pending "尚未审结";
        Total total "总计";
    }
}

/// The four columns that add up to 总计 in each block.
pub const T4_PARTS: [T4Col; 4] = [
    T4Col::Upheld,
    T4Col::Corrected,
    T4Col::OtherResult,
    T4Col::Pending,
];

impl T4Block {
    /// Its declaration.
    pub fn spec(self) -> &'static T4BlockSpec {
        &T4_BLOCKS[self as usize]
    }
}

impl T4Col {
    /// Its declaration.
    pub fn spec(self) -> &'static T4ColSpec {
        &T4_COLUMNS[self as usize]
    }
}

/// T4: every cell, indexed `[block as usize][col as usize]`, and the blocks
/// the published document did not contain.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct T4 {
    cells: [[u64; 5]; 3],
    /// Blocks not in the document: their cells are unknown (held as 0).
    absent: [bool; 3],
}

impl T4 {
    /// One cell; 0 for a block the document did not contain.
    pub fn get(&self, block: T4Block, col: T4Col) -> u64 {
        self.cells[block as usize][col as usize]
    }

    /// One cell, `None` when its block is absent from the document.
    pub fn cell(&self, block: T4Block, col: T4Col) -> Option<u64> {
        (!self.is_absent(block)).then(|| self.get(block, col))
    }

    /// Sets one cell; its block is present from then on.
    pub fn set(&mut self, block: T4Block, col: T4Col, value: u64) {
        self.cells[block as usize][col as usize] = value;
        self.absent[block as usize] = false;
    }

    /// Marks a block as absent from the document: its cells become unknown.
    pub fn set_absent(&mut self, block: T4Block) {
        self.cells[block as usize] = [0; 5];
        self.absent[block as usize] = true;
    }

    /// Whether the document did not contain this block.
    pub fn is_absent(&self, block: T4Block) -> bool {
        self.absent[block as usize]
    }

    /// To the wire form.
    pub fn to_proto(&self) -> pb::ReconsiderationLitigationTable {
        let mut out = pb::ReconsiderationLitigationTable::default();
        for b in &T4_BLOCKS {
            let mut o = pb::CaseOutcomes::default();
            for c in &T4_COLUMNS {
                (c.write)(&mut o, self.get(b.block, c.col));
            }
            *(b.write)(&mut out) = Some(o);
        }
        out
    }

    /// From the wire form; missing blocks are returned by name.
    pub fn from_proto(p: &pb::ReconsiderationLitigationTable) -> (T4, Vec<T4Block>) {
        let mut t = T4::default();
        let mut missing = Vec::new();
        for b in &T4_BLOCKS {
            match (b.read)(p) {
                Some(o) => {
                    for c in &T4_COLUMNS {
                        t.set(b.block, c.col, (c.read)(o));
                    }
                }
                None => missing.push(b.block),
            }
        }
        (t, missing)
    }
}

/// Location path of a T4 cell, e.g. `t4.reconsideration.total`.
pub fn t4_path(block: T4Block, col: T4Col) -> String {
    format!("t4.{}.{}", block.spec().key, col.spec().key)
}

// ---------------------------------------------------------------------------
// T2 — 主动公开政府信息情况
// ---------------------------------------------------------------------------

/// A T2 column within a block.
#[derive(Debug)]
pub struct T2ColSpec {
    /// Identifier used in locations, e.g. `in_force`.
    pub key: &'static str,
    /// Official label.
    pub label: &'static str,
    /// What the cells of the column hold.
    pub kind: CellKind,
}

/// A T2 row within a block.
#[derive(Debug)]
pub struct T2RowSpec {
    /// Identifier used in locations, e.g. `normative_documents`.
    pub key: &'static str,
    /// Official label.
    pub label: &'static str,
    /// Wording that means this row but is not official (→ `import.label-drift`).
    pub drifted: &'static [&'static str],
}

/// A block of T2: one item of 条例第二十条.
#[derive(Debug)]
pub struct T2BlockSpec {
    /// Official heading, e.g. "第二十条第（一）项".
    pub item: &'static str,
    /// The item's ordinal inside the heading, e.g. "一".
    pub ordinal: &'static str,
    /// Rows in order.
    pub rows: &'static [T2RowSpec],
    /// Columns in order.
    pub columns: &'static [T2ColSpec],
}

/// Read a cell's value from the wire form.
type ProtoRead<P> = fn(&P) -> Result<Value, crate::ConvertError>;
/// Write a cell's value into the wire form.
type ProtoWrite<P> = fn(&mut P, Value);

/// Whether the wire message states an amount (absent or empty: it does not).
type ProtoStated<P> = fn(&P) -> bool;

/// How one T2 cell maps onto its wire message `P`.
#[derive(Debug)]
pub struct T2ProtoCell<P: 'static> {
    read: ProtoRead<P>,
    write: ProtoWrite<P>,
    /// For an amount: its wire field and whether a message states it.
    amount: Option<(&'static str, ProtoStated<P>)>,
}

/// The layout of T2 in one format: blocks, and the wire mapping of every cell
/// in block → row → column order.
#[derive(Debug)]
pub struct T2Layout {
    /// The format.
    pub format: FormatVersion,
    /// Blocks in order.
    pub blocks: &'static [T2BlockSpec],
}

/// One T2 cell's position, resolved.
#[derive(Clone, Copy, Debug)]
pub struct T2CellRef {
    /// Index into the flat cell list.
    pub index: usize,
    /// Its block.
    pub block: &'static T2BlockSpec,
    /// Its row.
    pub row: &'static T2RowSpec,
    /// Its column.
    pub column: &'static T2ColSpec,
}

impl T2CellRef {
    /// Location path, e.g. `t2.normative_documents.in_force`.
    pub fn path(&self) -> String {
        format!("t2.{}.{}", self.row.key, self.column.key)
    }
}

impl T2Layout {
    /// Every cell in block → row → column order.
    pub fn cells(&self) -> impl Iterator<Item = T2CellRef> + '_ {
        self.blocks
            .iter()
            .flat_map(|b| {
                b.rows
                    .iter()
                    .flat_map(move |r| b.columns.iter().map(move |c| (b, r, c)))
            })
            .enumerate()
            .map(|(index, (block, row, column))| T2CellRef {
                index,
                block,
                row,
                column,
            })
    }

    /// The cell at a row and column key.
    pub fn cell(&self, row: &str, column: &str) -> Option<T2CellRef> {
        self.cells()
            .find(|c| c.row.key == row && c.column.key == column)
    }

    /// Number of cells.
    pub fn len(&self) -> usize {
        self.cells().count()
    }

    /// Always false: every layout has cells.
    pub fn is_empty(&self) -> bool {
        false
    }
}

const DOCS_2021: &[T2ColSpec] = &[
    T2ColSpec {
        key: "issued",
        label: "本年制发件数",
        kind: CellKind::Count,
    },
    T2ColSpec {
        key: "repealed",
        label: "本年废止件数",
        kind: CellKind::Count,
    },
    T2ColSpec {
        key: "in_force",
        label: "现行有效件数",
        kind: CellKind::Count,
    },
];
const DECISIONS_2021: &[T2ColSpec] = &[T2ColSpec {
    key: "decisions",
    label: "本年处理决定数量",
    kind: CellKind::Count,
}];

/// The label heading T2's first column in every block, both formats.
pub const T2_CONTENT: &str = "信息内容";

/// T2 in the 2021 format: 10 cells.
pub const T2_2021: T2Layout = T2Layout {
    format: FormatVersion::Current2021,
    blocks: &[
        T2BlockSpec {
            item: "第二十条第（一）项",
            ordinal: "一",
            rows: &[
                T2RowSpec {
                    key: "regulations",
                    label: "规章",
                    drifted: &[],
                },
                T2RowSpec {
                    key: "normative_documents",
                    label: "行政规范性文件",
                    drifted: &["规范性文件"],
                },
            ],
            columns: DOCS_2021,
        },
        T2BlockSpec {
            item: "第二十条第（五）项",
            ordinal: "五",
            rows: &[T2RowSpec {
                key: "licensing",
                label: "行政许可",
                drifted: &[],
            }],
            columns: DECISIONS_2021,
        },
        T2BlockSpec {
            item: "第二十条第（六）项",
            ordinal: "六",
            rows: &[
                T2RowSpec {
                    key: "penalty",
                    label: "行政处罚",
                    drifted: &[],
                },
                T2RowSpec {
                    key: "coercion",
                    label: "行政强制",
                    drifted: &[],
                },
            ],
            columns: DECISIONS_2021,
        },
        T2BlockSpec {
            item: "第二十条第（八）项",
            ordinal: "八",
            rows: &[T2RowSpec {
                key: "fees",
                label: "行政事业性收费",
                drifted: &[],
            }],
            columns: &[T2ColSpec {
                key: "amount",
                label: "本年收费金额（单位：万元）",
                kind: CellKind::Money,
            }],
        },
    ],
};

const DOCS_2019: &[T2ColSpec] = &[
    T2ColSpec {
        key: "newly_made",
        label: "本年新制作数量",
        kind: CellKind::Count,
    },
    T2ColSpec {
        key: "newly_published",
        label: "本年新公开数量",
        kind: CellKind::Count,
    },
    T2ColSpec {
        key: "total_published",
        label: "对外公开总数量",
        kind: CellKind::Count,
    },
];
const ITEMS_2019: &[T2ColSpec] = &[
    T2ColSpec {
        key: "previous_year_items",
        label: "上一年项目数量",
        kind: CellKind::Count,
    },
    T2ColSpec {
        key: "change",
        label: "本年增/减",
        kind: CellKind::Delta,
    },
    T2ColSpec {
        key: "decisions",
        label: "处理决定数量",
        kind: CellKind::Count,
    },
];

/// T2 in the 2019 trial format: 22 cells.
pub const T2_2019: T2Layout = T2Layout {
    format: FormatVersion::Trial2019,
    blocks: &[
        T2BlockSpec {
            item: "第二十条第（一）项",
            ordinal: "一",
            rows: &[
                T2RowSpec {
                    key: "regulations",
                    label: "规章",
                    drifted: &[],
                },
                T2RowSpec {
                    key: "normative_documents",
                    label: "规范性文件",
                    drifted: &[],
                },
            ],
            columns: DOCS_2019,
        },
        T2BlockSpec {
            item: "第二十条第（五）项",
            ordinal: "五",
            rows: &[
                T2RowSpec {
                    key: "licensing",
                    label: "行政许可",
                    drifted: &[],
                },
                T2RowSpec {
                    key: "other_external_services",
                    label: "其他对外管理服务事项",
                    drifted: &[],
                },
            ],
            columns: ITEMS_2019,
        },
        T2BlockSpec {
            item: "第二十条第（六）项",
            ordinal: "六",
            rows: &[
                T2RowSpec {
                    key: "penalty",
                    label: "行政处罚",
                    drifted: &[],
                },
                T2RowSpec {
                    key: "coercion",
                    label: "行政强制",
                    drifted: &[],
                },
            ],
            columns: ITEMS_2019,
        },
        T2BlockSpec {
            item: "第二十条第（八）项",
            ordinal: "八",
            rows: &[T2RowSpec {
                key: "fees",
                label: "行政事业性收费",
                drifted: &[],
            }],
            columns: &[
                T2ColSpec {
                    key: "previous_year_items",
                    label: "上一年项目数量",
                    kind: CellKind::Count,
                },
                T2ColSpec {
                    key: "change",
                    label: "本年增/减",
                    kind: CellKind::Delta,
                },
            ],
        },
        T2BlockSpec {
            item: "第二十条第（九）项",
            ordinal: "九",
            rows: &[T2RowSpec {
                key: "procurement",
                label: "政府集中采购",
                drifted: &[],
            }],
            columns: &[
                T2ColSpec {
                    key: "items",
                    label: "采购项目数量",
                    kind: CellKind::Count,
                },
                T2ColSpec {
                    key: "amount",
                    label: "采购总金额",
                    kind: CellKind::Money,
                },
            ],
        },
    ],
};

impl FormatVersion {
    /// The T2 layout of this format.
    pub fn t2_layout(self) -> &'static T2Layout {
        match self {
            FormatVersion::Current2021 => &T2_2021,
            FormatVersion::Trial2019 => &T2_2019,
        }
    }
}

fn money_of(m: Option<&pb::Money>, field: &'static str) -> Result<Value, crate::ConvertError> {
    match m {
        None => Ok(Value::Money(Money::ZERO)),
        Some(m) if m.wan_yuan.is_empty() => Ok(Value::Money(Money::ZERO)),
        Some(m) => m
            .wan_yuan
            .parse()
            .map(Value::Money)
            .map_err(|e| crate::ConvertError::Money { field, reason: e }),
    }
}

/// Whether a wire amount is stated: present and not blank.
fn money_stated(m: Option<&pb::Money>) -> bool {
    m.is_some_and(|m| !m.wan_yuan.trim().is_empty())
}

fn money_to(v: Value) -> Option<pb::Money> {
    match v {
        Value::Money(m) => Some(pb::Money {
            wan_yuan: m.to_string(),
        }),
        _ => None,
    }
}

fn count(v: Value) -> u64 {
    match v {
        Value::Count(n) => n,
        _ => 0,
    }
}

fn delta(v: Value) -> i64 {
    match v {
        Value::Delta(n) => n,
        _ => 0,
    }
}

/// One T2 cell's wire mapping: a count or a signed change in a row message
/// (`count row.field`, `delta row.field`), a count at the top level
/// (`count field`), or money (`money field` / `money row.field`).
macro_rules! t2_cell {
    (count $row:ident . $field:ident) => {
        T2ProtoCell {
            read: |p| Ok(Value::Count(p.$row.as_ref().map_or(0, |r| r.$field))),
            write: |p, v| p.$row.get_or_insert_default().$field = count(v),
            amount: None,
        }
    };
    (delta $row:ident . $field:ident) => {
        T2ProtoCell {
            read: |p| Ok(Value::Delta(p.$row.as_ref().map_or(0, |r| r.$field))),
            write: |p, v| p.$row.get_or_insert_default().$field = delta(v),
            amount: None,
        }
    };
    (count $field:ident) => {
        T2ProtoCell {
            read: |p| Ok(Value::Count(p.$field)),
            write: |p, v| p.$field = count(v),
            amount: None,
        }
    };
    (money $field:ident, $path:literal) => {
        T2ProtoCell {
            read: |p| money_of(p.$field.as_ref(), $path),
            write: |p, v| p.$field = money_to(v),
            amount: Some(($path, |p| money_stated(p.$field.as_ref()))),
        }
    };
    (money $row:ident . $field:ident, $path:literal) => {
        T2ProtoCell {
            read: |p| money_of(p.$row.as_ref().and_then(|r| r.$field.as_ref()), $path),
            write: |p, v| p.$row.get_or_insert_default().$field = money_to(v),
            amount: Some(($path, |p| {
                money_stated(p.$row.as_ref().and_then(|r| r.$field.as_ref()))
            })),
        }
    };
}

/// Wire mapping of [`T2_2021`]'s cells, in the same order.
pub const T2_2021_PROTO: [T2ProtoCell<pb::ActiveDisclosure>; 10] = [
    t2_cell!(count regulations.issued),
    t2_cell!(count regulations.repealed),
    t2_cell!(count regulations.in_force),
    t2_cell!(count normative_documents.issued),
    t2_cell!(count normative_documents.repealed),
    t2_cell!(count normative_documents.in_force),
    t2_cell!(count licensing_decisions),
    t2_cell!(count penalty_decisions),
    t2_cell!(count coercion_decisions),
    t2_cell!(money fees, "active_disclosure.fees"),
];

/// Wire mapping of [`T2_2019`]'s cells, in the same order.
pub const T2_2019_PROTO: [T2ProtoCell<pb::ActiveDisclosureTrial>; 22] = [
    t2_cell!(count regulations.newly_made),
    t2_cell!(count regulations.newly_published),
    t2_cell!(count regulations.total_published),
    t2_cell!(count normative_documents.newly_made),
    t2_cell!(count normative_documents.newly_published),
    t2_cell!(count normative_documents.total_published),
    t2_cell!(count licensing.previous_year_items),
    t2_cell!(delta licensing.change),
    t2_cell!(count licensing.decisions),
    t2_cell!(count other_external_services.previous_year_items),
    t2_cell!(delta other_external_services.change),
    t2_cell!(count other_external_services.decisions),
    t2_cell!(count penalty.previous_year_items),
    t2_cell!(delta penalty.change),
    t2_cell!(count penalty.decisions),
    t2_cell!(count coercion.previous_year_items),
    t2_cell!(delta coercion.change),
    t2_cell!(count coercion.decisions),
    t2_cell!(count fees.previous_year_items),
    t2_cell!(delta fees.change),
    t2_cell!(count procurement.items),
    t2_cell!(money procurement.amount, "active_disclosure_trial.procurement.amount"),
];

/// T2: every cell of its format's layout, in block → row → column order,
/// and which of them the published document did not contain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct T2 {
    values: Vec<Value>,
    /// Per cell: not in the document (its row was missing), held as zero.
    absent: Vec<bool>,
}

impl T2 {
    /// All zeros in a layout.
    pub fn zeros(layout: &T2Layout) -> T2 {
        let values: Vec<Value> = layout.cells().map(|c| Value::zero(c.column.kind)).collect();
        T2 {
            absent: vec![false; values.len()],
            values,
        }
    }

    /// Marks a row as absent from the document: its cells become unknown
    /// (zero, and `None` from [`T2::count`]).
    pub fn set_row_absent(&mut self, layout: &T2Layout, row: &str) {
        for c in layout.cells().filter(|c| c.row.key == row) {
            if let (Some(v), Some(a)) = (self.values.get_mut(c.index), self.absent.get_mut(c.index))
            {
                *v = Value::zero(c.column.kind);
                *a = true;
            }
        }
    }

    /// Whether the document did not contain a row (any of its cells).
    pub fn is_row_absent(&self, layout: &T2Layout, row: &str) -> bool {
        layout
            .cells()
            .filter(|c| c.row.key == row)
            .any(|c| self.absent.get(c.index).copied().unwrap_or(false))
    }

    /// The keys of the rows the document did not contain, in layout order.
    pub fn absent_rows<'l>(
        &'l self,
        layout: &'l T2Layout,
    ) -> impl Iterator<Item = &'static T2RowSpec> + 'l {
        layout
            .blocks
            .iter()
            .flat_map(|b| b.rows.iter())
            .filter(|r| self.is_row_absent(layout, r.key))
    }

    /// One cell; zero of its kind if the index is out of range.
    pub fn get(&self, cell: &T2CellRef) -> Value {
        self.values
            .get(cell.index)
            .copied()
            .unwrap_or(Value::zero(cell.column.kind))
    }

    /// The count in a cell, by row and column key; `None` if it is not a
    /// count or the document did not contain it.
    pub fn count(&self, layout: &T2Layout, row: &str, column: &str) -> Option<u64> {
        layout
            .cell(row, column)
            .filter(|c| !self.absent.get(c.index).copied().unwrap_or(false))
            .and_then(|c| self.get(&c).count())
    }

    /// Sets one cell; its row is present from then on (as with T3 and T4:
    /// the row's other cells hold what they held, 0 if it was absent). A
    /// value of the wrong kind is refused.
    pub fn set(&mut self, cell: &T2CellRef, value: Value) -> bool {
        let kind_ok = matches!(
            (cell.column.kind, value),
            (CellKind::Count, Value::Count(_))
                | (CellKind::Delta, Value::Delta(_))
                | (CellKind::Money, Value::Money(_))
        );
        match self.values.get_mut(cell.index) {
            Some(slot) if kind_ok => {
                *slot = value;
                // The row's cells stand together, in its block's column order.
                let columns = cell.block.columns;
                if let Some(at) = columns.iter().position(|c| c.key == cell.column.key) {
                    let start = cell.index.saturating_sub(at);
                    let end = start.saturating_add(columns.len());
                    if let Some(row) = self.absent.get_mut(start..end) {
                        row.fill(false);
                    }
                }
                true
            }
            _ => false,
        }
    }

    /// Reads the 2021 format's wire message.
    pub fn from_proto_2021(p: &pb::ActiveDisclosure) -> Result<T2, crate::ConvertError> {
        Self::read_proto(&T2_2021_PROTO, p)
    }

    /// Reads the 2019 trial format's wire message.
    pub fn from_proto_2019(p: &pb::ActiveDisclosureTrial) -> Result<T2, crate::ConvertError> {
        Self::read_proto(&T2_2019_PROTO, p)
    }

    fn read_proto<P>(cells: &[T2ProtoCell<P>], p: &P) -> Result<T2, crate::ConvertError> {
        let values: Vec<Value> = cells
            .iter()
            .map(|c| (c.read)(p))
            .collect::<Result<_, _>>()?;
        Ok(T2 {
            absent: vec![false; values.len()],
            values,
        })
    }

    /// The wire field of the first amount the wire T2 `t` (this table's
    /// source) leaves unstated (left out, or an empty string) in a row not
    /// listed as absent, if any. The wire form reads such an amount as 0; a
    /// caller's report must say 0 to mean it, or list the row in
    /// `absent_rows` when it is unknown.
    pub fn unstated_amount(
        &self,
        t: &pb::annual_report::ActiveDisclosureTable,
    ) -> Option<&'static str> {
        use pb::annual_report::ActiveDisclosureTable as Table;
        fn first<P>(cells: &[T2ProtoCell<P>], p: &P, absent: &[bool]) -> Option<&'static str> {
            cells
                .iter()
                .zip(absent)
                .filter(|(_, absent)| !**absent)
                .filter_map(|(c, _)| c.amount)
                .find(|(_, stated)| !stated(p))
                .map(|(field, _)| field)
        }
        match t {
            Table::ActiveDisclosure(p) => first(&T2_2021_PROTO, p, &self.absent),
            Table::ActiveDisclosureTrial(p) => first(&T2_2019_PROTO, p, &self.absent),
        }
    }

    /// The wire form, in the format's own message.
    pub fn to_proto(&self, format: FormatVersion) -> pb::annual_report::ActiveDisclosureTable {
        use pb::annual_report::ActiveDisclosureTable as Table;
        match format {
            FormatVersion::Current2021 => {
                Table::ActiveDisclosure(Self::write_proto(&T2_2021_PROTO, &self.values))
            }
            FormatVersion::Trial2019 => {
                Table::ActiveDisclosureTrial(Self::write_proto(&T2_2019_PROTO, &self.values))
            }
        }
    }

    fn write_proto<P: Default>(cells: &[T2ProtoCell<P>], values: &[Value]) -> P {
        let mut p = P::default();
        for (c, v) in cells.iter().zip(values) {
            (c.write)(&mut p, *v);
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_and_wire_mappings_agree_in_size() {
        assert_eq!(T2_2021.len(), T2_2021_PROTO.len());
        assert_eq!(T2_2019.len(), T2_2019_PROTO.len());
        assert_eq!(T2_2021.len(), 10);
        assert_eq!(T2_2019.len(), 22);
    }

    #[test]
    fn declarations_are_in_enum_order() {
        for (i, s) in T3_ROWS.iter().enumerate() {
            assert_eq!(s.row as usize, i);
        }
        for (i, s) in T3_COLUMNS.iter().enumerate() {
            assert_eq!(s.col as usize, i);
        }
        for (i, s) in T4_BLOCKS.iter().enumerate() {
            assert_eq!(s.block as usize, i);
        }
        for (i, s) in T4_COLUMNS.iter().enumerate() {
            assert_eq!(s.col as usize, i);
        }
        assert_eq!(T3Row::rows_of(FormatVersion::Current2021).count(), 25);
        assert_eq!(T3Row::rows_of(FormatVersion::Trial2019).count(), 23);
        assert_eq!(T3Row::outcomes_of(FormatVersion::Current2021).count(), 21);
        assert_eq!(T3Row::outcomes_of(FormatVersion::Trial2019).count(), 19);
    }

    #[test]
    fn t2_wire_round_trip_is_exact_for_every_cell() {
        for layout in [&T2_2021, &T2_2019] {
            let mut t2 = T2::zeros(layout);
            for c in layout.cells() {
                let i = u64::try_from(c.index).unwrap() + 1;
                let v = match c.column.kind {
                    CellKind::Count => Value::Count(i * 1000 + 7),
                    CellKind::Delta => Value::Delta(-(i64::try_from(i).unwrap())),
                    CellKind::Money => Value::Money("14852.1812".parse().unwrap()),
                };
                assert!(t2.set(&c, v));
            }
            let back = match t2.to_proto(layout.format) {
                pb::annual_report::ActiveDisclosureTable::ActiveDisclosure(p) => {
                    T2::from_proto_2021(&p)
                }
                pb::annual_report::ActiveDisclosureTable::ActiveDisclosureTrial(p) => {
                    T2::from_proto_2019(&p)
                }
            }
            .unwrap();
            assert_eq!(back, t2);
        }
    }
}
