//! Prints the blocks a PDF reads to (headings, prose, rows as tab-separated
//! cells): what assembly sees. `cargo run -p gongkai-document --example
//! pdf_blocks -- FILE.pdf`
fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: pdf_blocks FILE.pdf");
        std::process::exit(2);
    };
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(2);
        }
    };
    match gongkai_document::pdf::from_pdf(&bytes) {
        Ok(blocks) => {
            for b in blocks {
                match b {
                    gongkai_document::blocks::Block::DocumentTitle(t) => println!("title: {t}"),
                    gongkai_document::blocks::Block::Heading(t) => println!("# {t}"),
                    gongkai_document::blocks::Block::Text(t) => println!("{t}"),
                    gongkai_document::blocks::Block::Row(cells) => {
                        println!("|{}", cells.join("\t"))
                    }
                }
            }
        }
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    }
}
