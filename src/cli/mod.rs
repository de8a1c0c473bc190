//! The command-line frontend: parses arguments, finds sources and the index, calls the library
//! and prints. Owns no search or ranking logic.

mod i18n;
mod mcp;
mod render;
mod render_diff;
mod render_explain;
mod serve;

use std::ffi::OsString;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use attack_kb::diff;
use attack_kb::explain;
use attack_kb::index::{self, KbIndex, Manifest};
use attack_kb::layer;
use attack_kb::message::Message;
use attack_kb::model::{self, Kind};
use attack_kb::query::{self, SearchRequest};
use attack_kb::service;
use attack_kb::source::{curated::Curated, fetch};
use attack_kb::text::escape_controls;
use attack_kb::{Error, Result, msg};
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    name = "kb",
    version,
    about = "Offline MITRE ATT&CK knowledge base with Japanese and English search",
    long_about = "Offline MITRE ATT&CK knowledge base with Japanese and English search.\n\
                  オフラインの MITRE ATT&CK ナレッジベース (日本語・英語で検索)。"
)]
struct Cli {
    /// Index folder.
    #[arg(long, global = true, env = "KB_INDEX", default_value = "index")]
    index: PathBuf,
    /// Folder that `kb fetch` fills with bundles (used when no --attack or KB_ATTACK is given).
    #[arg(long, global = true, env = "KB_DATA", default_value = "data")]
    data: PathBuf,
    /// Read the index from a bundle made by `kb pack` (instead of --index); it is verified and
    /// unpacked once into a cache folder ($KB_CACHE, else ~/.cache/attack-kb).
    #[arg(long, global = true, env = "KB_BUNDLE")]
    bundle: Option<PathBuf>,
    /// Language of the output, help and messages (default: from LC_ALL/LANG).
    #[arg(long, global = true, value_enum)]
    lang: Option<Lang>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Search techniques, tactics, groups, software, Windows binaries, alerts... by ID, name,
    /// Japanese, alias, typo or a whole command line.
    Search(SearchArgs),
    /// Show the full record of an ID or name (T1053.005, schtasks.exe, APT29, 常設).
    Show(ShowArgs),
    /// Explain a command line: the program, each argument, the ATT&CK techniques it shows, its
    /// artefacts and where to look next.
    Explain(ExplainArgs),
    /// Build the index from ATT&CK bundles and the curated kb/ files (atomically replaces it).
    Index(IndexArgs),
    /// Download an ATT&CK bundle from MITRE (or a mirror) into the data folder.
    Fetch(FetchArgs),
    /// Check the curated kb/ files against an ATT&CK bundle.
    Lint(LintArgs),
    /// Print what the index holds: sources, versions, counts, build time.
    Info(OutputArgs),
    /// Write an ATT&CK Navigator layer of a group's, a software's, a tactic's, a search's,
    /// command lines' or listed techniques.
    Layer(LayerArgs),
    /// Write the index as one verifiable zip (the index, its manifest, SHA-256 of every file).
    Pack(PackArgs),
    /// Serve search, show and explain over HTTP: a JSON API and a web page.
    Serve(serve::ServeArgs),
    /// Answer search, show and explain as an MCP server (Model Context Protocol) on standard
    /// input and output, for AI assistants and agents.
    Mcp,
    /// What changed between two ATT&CK releases: techniques added, revoked, deprecated,
    /// renamed, moved; tactics, platforms, descriptions; groups, software and more.
    Diff(DiffArgs),
}

#[derive(Args)]
struct OutputArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Lang {
    Ja,
    En,
}

impl From<explain::Lang> for Lang {
    fn from(lang: explain::Lang) -> Lang {
        match lang {
            explain::Lang::Ja => Lang::Ja,
            explain::Lang::En => Lang::En,
        }
    }
}

/// The language of the texts the library picks (explain's).
impl From<Lang> for explain::Lang {
    fn from(lang: Lang) -> explain::Lang {
        match lang {
            Lang::Ja => explain::Lang::Ja,
            Lang::En => explain::Lang::En,
        }
    }
}

#[derive(Args)]
struct SearchArgs {
    /// What to look for; several words are one query; `-` reads it from standard input.
    /// Quote a command line, or put it after `--`, so its switches are not read as kb's
    /// options (everything after `--` is part of the query).
    #[arg(required = true, num_args = 1..)]
    query: Vec<String>,
    /// How many results to print (1-500).
    #[arg(long, short = 'n', default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=500))]
    limit: u16,
    /// Only these kinds (technique, tactic, group, software, mitigation, campaign, binary, alert,
    /// detection-strategy, analytic, data-source, data-component, asset); repeatable or
    /// comma-separated.
    #[arg(long, short = 'k', value_delimiter = ',', value_parser = parse_kind)]
    kind: Vec<Kind>,
    /// Only entities of this tactic (TA0003, persistence, 常設).
    #[arg(long)]
    tactic: Option<String>,
    /// Only this domain: enterprise, mobile or ics.
    #[arg(long, value_parser = ["enterprise", "mobile", "ics", "enterprise-attack", "mobile-attack", "ics-attack"])]
    domain: Option<String>,
    #[command(flatten)]
    out: OutputArgs,
}

#[derive(Args)]
struct ShowArgs {
    /// An ID (T1053.005, G0016, schtasks.exe) or a name/alias (Cozy Bear, 常設).
    #[arg(required = true, num_args = 1..)]
    key: Vec<String>,
    /// List every related object (long lists are cut at 15 otherwise).
    #[arg(long)]
    all: bool,
    #[command(flatten)]
    out: OutputArgs,
}

#[derive(Args)]
struct ExplainArgs {
    /// The command line: one quoted argument, the words after `--`, or `-` to read standard
    /// input (each line is explained in turn).
    #[arg(required = true, num_args = 1..)]
    line: Vec<String>,
    #[command(flatten)]
    out: OutputArgs,
}

#[derive(Args)]
#[command(group(clap::ArgGroup::new("selection").required(true)))]
struct LayerArgs {
    /// A group's techniques: its ID, name or alias (G0016, APT29, Cozy Bear).
    #[arg(long, group = "selection")]
    group: Option<String>,
    /// A software's techniques: its ID, name or alias (S0002, Mimikatz).
    #[arg(long, group = "selection")]
    software: Option<String>,
    /// A tactic's techniques, scored by how many groups use each (TA0003, persistence, 常設).
    #[arg(long, group = "selection")]
    tactic: Option<String>,
    /// The techniques a search finds, best first.
    #[arg(long, group = "selection")]
    search: Option<String>,
    /// The techniques `kb explain` finds in a command line; `-` reads standard input, one
    /// command line per line.
    #[arg(long, group = "selection", allow_hyphen_values = true)]
    explain: Option<String>,
    /// Technique IDs, comma-separated (T1053.005,T1059.001).
    #[arg(long, group = "selection", value_delimiter = ',')]
    ids: Vec<String>,
    /// The domain to show: enterprise, mobile or ics (default: the one most selected
    /// techniques belong to).
    #[arg(long, value_parser = ["enterprise", "mobile", "ics", "enterprise-attack", "mobile-attack", "ics-attack"])]
    domain: Option<String>,
    /// How many techniques a search selects (1-100).
    #[arg(long, short = 'n', default_value_t = layer::SEARCH_LIMIT as u16, value_parser = clap::value_parser!(u16).range(1..=100))]
    limit: u16,
    /// Write the layer to this file instead of standard output.
    #[arg(short = 'o', long)]
    out: Option<PathBuf>,
}

#[derive(Args)]
struct DiffArgs {
    /// The older release: a bundle (.json or .zip), or a version the known bundles hold (17.1).
    old: String,
    /// The newer release, given the same way.
    new: String,
    /// enterprise, mobile or ics: which domain's releases, where both versions exist for
    /// several.
    #[arg(long)]
    domain: Option<String>,
    /// Also list the relationships this group (G0016) gained or lost; repeatable.
    #[arg(long)]
    group: Vec<String>,
    /// Also list the relationships this software (S0002) gained or lost; repeatable.
    #[arg(long)]
    software: Vec<String>,
    /// Where versions are looked up: bundles or folders of them; repeatable. Default:
    /// $KB_ATTACK, then the data folder.
    #[arg(long)]
    attack: Vec<PathBuf>,
    /// Print a Markdown change log (every object listed).
    #[arg(long, conflicts_with = "json")]
    markdown: bool,
    /// List every changed object (long lists are cut at 15 otherwise).
    #[arg(long)]
    all: bool,
    #[command(flatten)]
    out: OutputArgs,
}

#[derive(Args)]
struct PackArgs {
    /// The bundle to write.
    #[arg(short = 'o', long)]
    out: PathBuf,
}

#[derive(Args)]
struct SourceArgs {
    /// ATT&CK bundle (.json or .zip) or folder of bundles; repeatable. Default: $KB_ATTACK, then
    /// the data folder.
    #[arg(long)]
    attack: Vec<PathBuf>,
    /// Read curated files from this kb/ folder instead of the copy built into kb.
    #[arg(long = "kb")]
    kb_dir: Option<PathBuf>,
}

#[derive(Args)]
struct IndexArgs {
    #[command(flatten)]
    sources: SourceArgs,
    /// Where to write the index (default: --index).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Replace the index even when a domain's new bundle has far fewer objects.
    #[arg(long)]
    force: bool,
}

#[derive(Args)]
struct FetchArgs {
    /// enterprise, mobile or ics; repeatable (default: all three).
    #[arg(long)]
    domain: Vec<String>,
    /// ATT&CK release such as 18.1 (default: the latest).
    #[arg(long)]
    version: Option<String>,
    /// A mirror: folder or http(s) URL laid out like attack-stix-data (or flat).
    #[arg(long)]
    from: Option<String>,
    /// Replace the file even when the download has far fewer objects than it.
    #[arg(long)]
    force: bool,
    /// Give up on a download after this many seconds.
    #[arg(long, default_value_t = fetch::DEFAULT_DEADLINE.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
    timeout: u64,
}

#[derive(Args)]
struct LintArgs {
    #[command(flatten)]
    sources: SourceArgs,
    /// Also fail when live techniques lack Japanese (the release check).
    #[arg(long)]
    strict: bool,
    /// Also fail when a binary of this list (one name a line, e.g. LOLBAS's) is missing from
    /// the catalogue.
    #[arg(long, value_name = "FILE")]
    expect_binaries: Option<PathBuf>,
}

fn parse_kind(s: &str) -> std::result::Result<Kind, String> {
    Kind::parse(s).ok_or_else(|| {
        let all: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
        format!("one of: {}", all.join(", "))
    })
}

pub fn run() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    // The help and clap's errors are written while parsing: the language is known before.
    let lang = i18n::lang_in_args(&args).unwrap_or_else(locale_lang);
    // English needs no texts (clap's own are English): every run would parse kb/ja/cli.toml
    // for nothing, a tenth of a search's work.
    let texts = (lang == Lang::Ja).then(i18n::Texts::embedded);
    let mut cmd = match &texts {
        Some(t) => t.japanese(Cli::command()),
        None => Cli::command(),
    };
    let cli = match cmd
        .try_get_matches_from_mut(&args)
        .and_then(|m| Cli::from_arg_matches(&m))
    {
        Ok(cli) => cli,
        Err(e) => return command_line_error(&e, texts.as_ref(), &cmd, &args),
    };
    let mut cli = cli;
    let lang = *cli.lang.get_or_insert(lang);
    match dispatch(&cli, lang) {
        Ok(code) => code,
        Err(e) => {
            say(format_args!("kb: {}", e.render(explain::Lang::from(lang))));
            ExitCode::from(match e {
                Error::NotFound(_) => 3,
                _ => 1,
            })
        }
    }
}

/// Help and version go to stdout as clap writes them (in Japanese, from the localized
/// command); a wrong command line is said in the user's language (`texts` in Japanese mode),
/// exit code 2.
fn command_line_error(
    e: &clap::Error,
    texts: Option<&i18n::Texts>,
    cmd: &clap::Command,
    args: &[OsString],
) -> ExitCode {
    use clap::error::ErrorKind;
    let shown = matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    );
    match texts {
        Some(texts) if !shown => {
            let _ = io::stderr()
                .lock()
                .write_all(escape_controls(&texts.clap_error(e, cmd, args)).as_bytes());
        }
        _ => {
            let _ = e.print();
        }
    }
    ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2))
}

fn dispatch(cli: &Cli, lang: Lang) -> Result<ExitCode> {
    match &cli.command {
        Command::Search(a) => {
            let kb = open_or_build(cli)?;
            // One query, then exit: the pages of each phase are not needed by the next.
            attack_kb::memory::trim_between_phases(true);
            // `-` reads the query from standard input: a line with both kinds of quote.
            let query = if a.query.len() == 1 && a.query[0] == "-" {
                read_stdin()?.trim().to_string()
            } else {
                a.query.join(" ")
            };
            let req = SearchRequest {
                query,
                limit: usize::from(a.limit),
                kinds: a.kind.clone(),
                tactic: a.tactic.clone(),
                domain: a.domain.clone(),
            };
            let resp = query::search(&kb, &req)?;
            for n in &resp.notes {
                say_message(&msg!("note.text").with("text", n.clone()), lang);
            }
            if a.out.json {
                print_json(&resp)?;
            } else {
                emit(|out| render::search(out, &resp, lang))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Show(a) => {
            let kb = open_or_build(cli)?;
            let shown = query::show(&kb, &a.key.join(" "))?;
            if a.out.json {
                print_json(&shown)?;
            } else {
                emit(|out| render::show(out, &shown, lang, a.all))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Explain(a) => {
            let kb = open_or_build(cli)?;
            let lib_lang = explain::Lang::from(lang);
            let stdin = a.line.len() == 1 && a.line[0] == "-";
            if !stdin {
                let e = explain::explain(&kb, &a.line.join(" "), lib_lang)?;
                if a.out.json {
                    print_json(&e)?;
                } else {
                    emit(|out| render_explain::explain(out, &e, lang))?;
                }
                return Ok(ExitCode::SUCCESS);
            }
            // One explanation per line; JSON output is one object per line (JSON Lines).
            let input = read_stdin()?;
            let mut all = Vec::new();
            for line in input.lines().filter(|l| !l.trim().is_empty()) {
                all.push(explain::explain(&kb, line, lib_lang)?);
            }
            if a.out.json {
                let mut text = String::new();
                for e in &all {
                    text.push_str(
                        &serde_json::to_string(e)
                            .map_err(|e| Error::Other(e.to_string().into()))?,
                    );
                    text.push('\n');
                }
                emit(|out| out.write_all(text.as_bytes()))?;
            } else {
                emit(|out| {
                    for (i, e) in all.iter().enumerate() {
                        if i > 0 {
                            writeln!(out, "\n{}", "─".repeat(60))?;
                        }
                        render_explain::explain(out, e, lang)?;
                    }
                    Ok(())
                })?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Index(a) => {
            let out = a.out.clone().unwrap_or_else(|| cli.index.clone());
            let m = build_index(cli, &a.sources, &out, a.force)?;
            note(|err| render::manifest(err, &m, &out, lang));
            Ok(ExitCode::SUCCESS)
        }
        Command::Fetch(a) => {
            let domains = if a.domain.is_empty() {
                vec!["enterprise".into(), "mobile".into(), "ics".into()]
            } else {
                a.domain.clone()
            };
            for d in domains {
                let req = fetch::FetchRequest {
                    domain: d,
                    version: a.version.clone(),
                    from: a.from.clone(),
                    dest: cli.data.clone(),
                    force: a.force,
                    deadline: std::time::Duration::from_secs(a.timeout),
                };
                let bar = download_bar(&req.domain);
                let tick = |done: u64, total: Option<u64>| {
                    if let Some(b) = &bar {
                        b.set_length(total.unwrap_or(done));
                        b.set_position(done);
                    }
                };
                let got = fetch::fetch(&req, &tick);
                if let Some(b) = &bar {
                    b.finish_and_clear();
                }
                let got = got?;
                say_message(
                    &msg!(
                        "note.fetched",
                        path = got.path.display(),
                        version = got.version,
                        objects = got.objects
                    ),
                    lang,
                );
            }
            say_message(&msg!("note.fetch_next", data = cli.data.display()), lang);
            Ok(ExitCode::SUCCESS)
        }
        Command::Lint(a) => {
            let curated = load_curated(&a.sources)?;
            let kb = load_kb(cli, &a.sources, &curated)?;
            let mut report = model::lint::lint(&curated, &kb);
            if let Some(f) = &a.expect_binaries {
                let names = std::fs::read_to_string(f).map_err(|e| Error::io(f, e))?;
                for n in model::lint::missing_binaries(&curated, &names) {
                    report
                        .problems
                        .push(msg!("lint.missing_binary", name = n, file = f.display()));
                }
            }
            emit(|out| render::lint(out, &report, &curated, lang))?;
            let failed = !report.problems.is_empty() || (a.strict && !report.missing.is_empty());
            Ok(if failed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Layer(a) => {
            let kb = open_or_build(cli)?;
            let selection = if let Some(g) = &a.group {
                layer::Selection::Group(g.clone())
            } else if let Some(s) = &a.software {
                layer::Selection::Software(s.clone())
            } else if let Some(t) = &a.tactic {
                layer::Selection::Tactic(t.clone())
            } else if let Some(q) = &a.search {
                layer::Selection::Search(q.clone())
            } else if let Some(line) = &a.explain {
                let lines = if line == "-" {
                    read_stdin()?.lines().map(str::to_string).collect()
                } else {
                    vec![line.clone()]
                };
                layer::Selection::Commands(lines)
            } else {
                layer::Selection::Ids(a.ids.clone())
            };
            let req = layer::LayerRequest {
                selection,
                domain: a.domain.clone(),
                lang: lang.into(),
                limit: usize::from(a.limit),
            };
            let built = layer::build(&kb, &req)?;
            for n in &built.notes {
                say_message(&msg!("note.text").with("text", n.clone()), lang);
            }
            let text = serde_json::to_string_pretty(&built.layer)
                .map_err(|e| Error::Other(e.to_string().into()))?;
            match &a.out {
                Some(path) => {
                    std::fs::write(path, format!("{text}\n")).map_err(|e| Error::io(path, e))?;
                    let written = msg!(
                        "layer.written",
                        file = path.display(),
                        entries = built.layer.techniques.len(),
                        domain = &built.layer.domain
                    );
                    say_message(&written, lang);
                }
                None => emit(|out| writeln!(out, "{text}"))?,
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Pack(a) => {
            let m = index::pack::write(&cli.index, &a.out)?;
            note(|err| render::manifest(err, &m, &a.out, lang));
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve(a) => {
            let kb = open_or_build(cli)?;
            serve::run(a, kb, index_source(cli), places(cli), lang.into())
        }
        Command::Mcp => {
            let kb = open_or_build(cli)?;
            mcp::run(kb, places(cli), lang)
        }
        Command::Diff(a) => {
            let sources = service::Sources {
                attack: a.attack.clone(),
                kb_dir: None,
            };
            let [old, new] = service::find_releases(
                &places(cli),
                &sources,
                [&a.old, &a.new],
                a.domain.as_deref(),
            )?;
            let opts = diff::Options::focusing(a.group.clone(), a.software.clone());
            let d = diff::compare_files(&old, &new, &Curated::embedded()?, &opts)?;
            if a.out.json {
                print_json(&d)?;
            } else {
                let style = if a.markdown {
                    render_diff::Style::Markdown
                } else {
                    render_diff::Style::Text
                };
                emit(|out| render_diff::diff(out, &d, lang, style, a.all))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Info(o) => {
            let kb = KbIndex::open(&index_root(cli)?)?;
            if o.json {
                print_json(&kb.manifest)?;
            } else {
                emit(|out| render::manifest(out, &kb.manifest, &cli.index, lang))?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Standard input as text; invalid UTF-8 is replaced, not refused (a pasted log may hold it).
fn read_stdin() -> Result<String> {
    let mut bytes = Vec::new();
    io::Read::read_to_end(&mut io::stdin().lock(), &mut bytes)
        .map_err(|e| Error::Other(msg!("cli.stdin", detail = e)))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn print_json<T: serde::Serialize>(v: &T) -> Result<()> {
    let s = serde_json::to_string_pretty(v).map_err(|e| Error::Other(e.to_string().into()))?;
    emit(|out| writeln!(out, "{s}"))
}

/// Writes to stdout through one buffer. A closed pipe (`kb show T1059 | head`) ends the output
/// quietly, as it does for other Unix tools.
fn emit(f: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<()> {
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    match f(&mut out).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::Other(msg!("cli.output", detail = e))),
    }
}

/// Progress and build reports go to stderr; failing to write them is no reason to fail.
fn note(f: impl FnOnce(&mut dyn Write) -> io::Result<()>) {
    let mut text = Vec::new();
    let _ = f(&mut text);
    let _ = io::stderr()
        .lock()
        .write_all(escape_controls(&String::from_utf8_lossy(&text)).as_bytes());
}

/// One line on stderr. A closed or full stderr is no reason to fail, nor to panic as eprintln!
/// does: the exit code still tells the outcome. Control characters (from a query, a path, a
/// file) are shown escaped, so that a message never replays an escape sequence.
fn say(line: std::fmt::Arguments) {
    let _ = writeln!(
        io::stderr().lock(),
        "{}",
        escape_controls(&line.to_string())
    );
}

/// The locale's language: LC_ALL, LC_MESSAGES, LANG starting with "ja" mean Japanese.
fn locale_lang() -> Lang {
    let locale = ["LC_ALL", "LC_MESSAGES", "LANG"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .unwrap_or_default();
    if locale.starts_with("ja") {
        Lang::Ja
    } else {
        Lang::En
    }
}

/// A message on stderr in the user's language.
fn say_message(m: &Message, lang: Lang) {
    say(format_args!("{}", m.render(explain::Lang::from(lang))));
}

/// Where this command was told to look, for the library's shared lookup.
fn places(cli: &Cli) -> service::Places {
    service::Places {
        index: cli.index.clone(),
        data: cli.data.clone(),
        bundle: cli.bundle.clone(),
    }
}

fn sources(s: &SourceArgs) -> service::Sources {
    service::Sources {
        attack: s.attack.clone(),
        kb_dir: s.kb_dir.clone(),
    }
}

/// The language this run speaks (set once the command line is read).
fn lang_of(cli: &Cli) -> Lang {
    cli.lang.unwrap_or(Lang::En)
}

/// Opens the index the way every frontend does (service::open_or_build), showing a progress
/// bar and the build report when it had to build one.
fn open_or_build(cli: &Cli) -> Result<KbIndex> {
    let notes = |m: &Message| say_message(m, lang_of(cli));
    let (kb, built) = with_progress(|tick| service::open_or_build(&places(cli), tick, &notes))?;
    if let Some(m) = built {
        note(|err| render::manifest(err, &m, &cli.index, lang_of(cli)));
    }
    Ok(kb)
}

/// The index folder readers open: --index, or the cache folder a --bundle unpacks to.
fn index_root(cli: &Cli) -> Result<PathBuf> {
    service::index_root(&places(cli))
}

/// What `kb serve` reopens on reload: the index folder, or the bundle file.
fn index_source(cli: &Cli) -> serve::Source {
    match &cli.bundle {
        Some(b) => serve::Source::Bundle(b.clone()),
        None => serve::Source::Dir(cli.index.clone()),
    }
}

fn load_curated(s: &SourceArgs) -> Result<Curated> {
    service::load_curated(&sources(s))
}

fn load_kb(cli: &Cli, s: &SourceArgs, curated: &Curated) -> Result<model::Kb> {
    let notes = |m: &Message| say_message(m, lang_of(cli));
    service::load_kb(&places(cli), &sources(s), curated, &notes)
}

fn build_index(cli: &Cli, s: &SourceArgs, out: &Path, force: bool) -> Result<Manifest> {
    with_progress(|tick| {
        let notes = |m: &Message| say_message(m, lang_of(cli));
        service::build_index(&places(cli), &sources(s), out, force, tick, &notes)
    })
}

/// Runs `f` with a progress callback that shows a bar on a terminal once indexing starts.
fn with_progress<T>(f: impl FnOnce(index::Progress) -> T) -> T {
    let bar = std::cell::RefCell::new(None::<indicatif::ProgressBar>);
    let tick = |done: usize, total: usize| {
        let mut b = bar.borrow_mut();
        if b.is_none() {
            *b = progress_bar(total);
        }
        if let Some(b) = b.as_ref() {
            b.set_position(done as u64);
        }
    };
    let result = f(&tick);
    if let Some(b) = bar.borrow().as_ref() {
        b.finish_and_clear();
    }
    result
}

/// A byte counter while a bundle downloads, on a terminal only.
fn download_bar(domain: &str) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(0);
    let template = format!("fetching {domain} {{bar:40}} {{bytes}}/{{total_bytes}} {{elapsed}}");
    if let Ok(style) = indicatif::ProgressStyle::with_template(&template) {
        bar.set_style(style);
    }
    Some(bar)
}

fn progress_bar(total: usize) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(total as u64);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("indexing {bar:40} {pos}/{len} {elapsed}")
    {
        bar.set_style(style);
    }
    Some(bar)
}
