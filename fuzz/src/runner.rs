//! The stable-Rust runner: replays every file named on the command line (or in a
//! directory named there), then, with `--mutate N`, runs N cheap random mutations of
//! them (byte flips, inserts, deletes, splices; a fixed seed, so a failure repeats).
//! Not coverage-guided like libFuzzer, but it needs no nightly compiler.

use std::path::{Path, PathBuf};

fn inputs(paths: &[PathBuf]) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(path).expect("a readable directory").filter_map(|e| e.ok().map(|e| e.path())).collect();
            entries.sort();
            out.extend(inputs(&entries));
        } else {
            out.push((path.clone(), std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))));
        }
    }
    out
}

/// xorshift64*: enough randomness for mutations, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next() % n as u64) as usize }
    }
}

const INTERESTING: &[&[u8]] = &[b"%", b"%00", b"%FF", b"&", b"=", b"+", b"\n", b".", b"..", b"/", b"@", b":", b"[", b"]", b"#", b"?", b"\"", b"{", b"}", b"\\"];

fn mutate(rng: &mut Rng, input: &[u8], corpus: &[(PathBuf, Vec<u8>)]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(out.len() + 1);
        match rng.below(5) {
            0 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] ^= 1 << rng.below(8);
            }
            1 => {
                let piece = INTERESTING[rng.below(INTERESTING.len())];
                out.splice(at..at, piece.iter().copied());
            }
            2 if at < out.len() => {
                let end = (at + 1 + rng.below(8)).min(out.len());
                out.drain(at..end);
            }
            3 if !corpus.is_empty() => {
                let other = &corpus[rng.below(corpus.len())].1;
                let from = rng.below(other.len() + 1);
                let end = (from + rng.below(32)).min(other.len());
                out.splice(at..at, other[from..end].iter().copied());
            }
            _ => out.insert(at, rng.next() as u8),
        }
    }
    out
}

/// `main` for a stable fuzz binary: `target [--mutate N] FILE_OR_DIR...`.
pub fn run(target: fn(&[u8])) {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut rounds = 0usize;
    if let Some(i) = args.iter().position(|a| a == "--mutate") {
        rounds = args.get(i + 1).and_then(|n| n.parse().ok()).expect("--mutate N");
        args.drain(i..i + 2);
    }
    let paths: Vec<PathBuf> = args.iter().map(PathBuf::from).collect();
    if paths.is_empty() {
        eprintln!("usage: {} [--mutate N] FILE_OR_DIR...", std::env::args().next().unwrap_or_default());
        std::process::exit(2);
    }
    let corpus = inputs(&paths);
    for (path, data) in &corpus {
        run_one(target, data, Some(path));
    }
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..rounds {
        let seed: &[u8] = if corpus.is_empty() { b"" } else { &corpus[rng.below(corpus.len())].1 };
        let data = mutate(&mut rng, seed, &corpus);
        run_one(target, &data, None);
    }
    println!("{} inputs replayed, {rounds} mutations run: no failure", corpus.len());
}

fn run_one(target: fn(&[u8]), data: &[u8], path: Option<&Path>) {
    if std::panic::catch_unwind(|| target(data)).is_err() {
        let name = path.map_or_else(|| "crash-input".into(), |p| p.display().to_string());
        let out = format!("crash-{}", name.replace('/', "_"));
        let _ = std::fs::write(&out, data);
        eprintln!("failure on {name}; input written to {out}");
        std::process::exit(1);
    }
}
