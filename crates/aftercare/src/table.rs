//! Tables for the terminal whose columns line up with Chinese text: every cell
//! is padded by its display width (a Han character takes two columns), not by
//! its number of characters.

use unicode_width::UnicodeWidthStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// Rows of cells under a header; the last column is never padded.
pub struct Table {
    header: Vec<String>,
    align: Vec<Align>,
    rows: Vec<Vec<String>>,
    indent: usize,
}

impl Table {
    /// Columns by header; a header starting with `>` is right-aligned (numbers).
    pub fn new(header: &[&str]) -> Self {
        Self {
            align: header
                .iter()
                .map(|h| {
                    if h.starts_with('>') {
                        Align::Right
                    } else {
                        Align::Left
                    }
                })
                .collect(),
            header: header
                .iter()
                .map(|h| h.trim_start_matches('>').to_owned())
                .collect(),
            rows: Vec::new(),
            indent: 0,
        }
    }

    /// Every line starts with `spaces` spaces (a table under a heading).
    pub fn indented(mut self, spaces: usize) -> Self {
        self.indent = spaces;
        self
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The table as lines of text, each ending in a newline.
    pub fn render(&self) -> String {
        let columns = self.header.len();
        let mut widths = vec![0; columns];
        for line in std::iter::once(&self.header).chain(&self.rows) {
            for (i, cell) in line.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(cell.width());
            }
        }
        let mut out = String::new();
        for line in std::iter::once(&self.header).chain(&self.rows) {
            let mut text = " ".repeat(self.indent);
            for (i, cell) in line.iter().enumerate().take(columns) {
                let pad = widths[i] - cell.width();
                let last = i + 1 == columns;
                match self.align[i] {
                    Align::Right => {
                        text.push_str(&" ".repeat(pad));
                        text.push_str(cell);
                    }
                    Align::Left => {
                        text.push_str(cell);
                        if !last {
                            text.push_str(&" ".repeat(pad));
                        }
                    }
                }
                if !last {
                    text.push_str("  ");
                }
            }
            out.push_str(text.trim_end());
            out.push('\n');
        }
        out
    }

    pub fn print(&self) {
        print!("{}", self.render());
    }

    /// The table as CSV (RFC 4180: fields with a comma, a quote or a line
    /// break are quoted, quotes doubled), led by a byte-order mark so a
    /// spreadsheet opens the Chinese text as UTF-8.
    pub fn csv(&self) -> String {
        let field = |cell: &str| {
            if cell.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", cell.replace('"', "\"\""))
            } else {
                cell.to_owned()
            }
        };
        let mut out = String::from('\u{feff}');
        for line in std::iter::once(&self.header).chain(&self.rows) {
            let cells: Vec<String> = line.iter().map(|c| field(c)).collect();
            out.push_str(&cells.join(","));
            out.push_str("\r\n");
        }
        out
    }

    /// Prints the table as the output asks: aligned, or CSV.
    pub fn print_as(&self, output: crate::client::Output) {
        match output {
            crate::client::Output::Csv => print!("{}", self.csv()),
            _ => self.print(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_needs_quoting_and_keeps_chinese_text() {
        let mut table = Table::new(&["SEGMENT", ">UNITS"]);
        table.row(vec!["科鲁兹, 1.5T".into(), "12".into()]);
        table.row(vec!["the \"A\" group".into(), "3".into()]);
        assert_eq!(
            table.csv(),
            "\u{feff}SEGMENT,UNITS\r\n\"科鲁兹, 1.5T\",12\r\n\"the \"\"A\"\" group\",3\r\n"
        );
    }

    #[test]
    fn columns_line_up_by_display_width_with_chinese_text() {
        let mut table = Table::new(&["MODEL", ">BASE", "GROUP"]);
        table.row(vec!["科鲁兹".into(), "1991".into(), "A组".into()]);
        table.row(vec!["Malibu XL".into(), "88".into(), "售后二组".into()]);
        let text = table.render();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "MODEL      BASE  GROUP");
        assert_eq!(lines[1], "科鲁兹     1991  A组");
        assert_eq!(lines[2], "Malibu XL    88  售后二组");
        // Where each column starts, in display columns, is the same on every line.
        let start_of_last = |line: &str, cell: &str| line[..line.find(cell).expect("cell")].width();
        assert_eq!(
            start_of_last(lines[1], "A组"),
            start_of_last(lines[0], "GROUP")
        );
        assert_eq!(
            start_of_last(lines[2], "售后二组"),
            start_of_last(lines[0], "GROUP")
        );
    }
}
