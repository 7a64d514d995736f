//! Whitespace runs that only `$VAR` expansion can bring in (the lexer collapses typed ones).
//! Each case was answered the same way by Perlbal 1.80 with the variables below set.

use super::*;
use crate::lexer::tests::FakeEnv;

fn env() -> FakeEnv {
    let mut env = FakeEnv::default()
        .with_var("SP", " ")
        .with_var("SP2", "  ")
        .with_var("TAB", "\t")
        .with_var("EQ", "=");
    for word in [
        "web", "pl", "x", "add", "on", "list", "a", "summary", "service",
    ] {
        env = env.with_var(&format!("W2{}", word.to_uppercase()), &format!("  {word}"));
    }
    env
}

fn parse(raw: &str) -> Result<Command, CommandError> {
    let line = Line::lex(raw, &env()).unwrap().expect("a command line");
    Command::parse(&line)
}

fn err(raw: &str) -> String {
    parse(raw).expect_err(raw).to_string()
}

#[test]
fn trailing_space_is_an_argument_for_no_argument_commands() {
    assert_eq!(err("help$SP"), "The 'help' command takes no arguments");
    assert_eq!(err("help$TAB"), "The 'help' command takes no arguments");
}

#[test]
fn optional_free_text_takes_last_space_back() {
    assert_eq!(err("states$SP"), "Invalid syntax to 'states' command");
    assert_eq!(
        parse("states$SP2"),
        Ok(Command::States {
            service: Some(" ".into())
        })
    );
    assert_eq!(
        parse("states$TAB$SP"),
        Ok(Command::States {
            service: Some(" ".into())
        })
    );
    assert_eq!(
        parse("leaks$SP2"),
        Ok(Command::Leaks {
            expr: Some(" ".into())
        })
    );
}

#[test]
fn single_space_grammars_refuse_runs() {
    assert_eq!(
        err("create$SP pool x"),
        "usage: CREATE {service|pool} <name>"
    );
    assert_eq!(err("use$W2PL"), "usage: USE <service_or_pool_name>");
    assert_eq!(
        err("set$W2WEB.persist_client = 1"),
        "usage: SET [<service>] <param> = <value>"
    );
    assert_eq!(
        err("set web.persist_client$SP2= 1"),
        "usage: SET [<service>] <param> = <value>"
    );
    assert_eq!(
        err("set web$TAB persist_client = 1"),
        "usage: SET [<service>] <param> = <value>"
    );
    assert_eq!(err("default$W2X = 1"), "usage: DEFAULT <param> = <value>");
    assert_eq!(err("enable$W2WEB"), "Usage: {ENABLE|DISABLE} <service>");
    assert_eq!(
        err("pool$W2ADD pl 1.2.3.4"),
        "Invalid syntax to 'pool' command"
    );
    assert_eq!(
        err("server$SP2track_obj = 1"),
        "Invalid syntax to 'server' command"
    );
    assert_eq!(err("verbose$W2ON"), "usage: VERBOSE {on|off}");
    assert_eq!(err("socks$W2SUMMARY"), "Invalid syntax to 'socks' command");
    assert_eq!(err("show$W2SERVICE"), "Invalid syntax to 'show' command");
    assert_eq!(
        err("show service$W2WEB"),
        "Invalid syntax to 'show' command"
    );
}

#[test]
fn value_keeps_spaces_beyond_the_first() {
    let set = |value: &str| {
        Ok(Command::Set(SetCommand {
            target: Some("web".into()),
            key: "persist_client".into(),
            value: value.into(),
        }))
    };
    assert_eq!(parse("set web.persist_client =$SP2 1"), set("  1"));
    assert_eq!(parse("set web.persist_client =$SP"), set(" "));
    assert_eq!(parse("set web.persist_client = on$SP"), set("on "));
    assert_eq!(
        err("set web.persist_client$EQ1"),
        "usage: SET [<service>] <param> = <value>"
    );
    assert_eq!(err("server track_obj =$SP2 1"), "Expected 1 or 0");
}

#[test]
fn space_then_dot_makes_a_dotted_key() {
    assert_eq!(
        parse("set web$SP.persist_client = 1"),
        Ok(Command::Set(SetCommand {
            target: Some("web".into()),
            key: ".persist_client".into(),
            value: "1".into(),
        }))
    );
}

#[test]
fn header_with_space_runs() {
    let header = |name: &str, value: Option<&str>| {
        Ok(Command::Header(HeaderCommand {
            service: "web".into(),
            action: HeaderAction::Insert,
            name: name.into(),
            value: value.map(str::to_owned),
        }))
    };
    assert_eq!(parse("header web insert x$SP2: y"), header("x", Some("y")));
    assert_eq!(parse("header web insert x:$SP"), header("x", Some(" ")));
    assert_eq!(parse("header web insert x:$SP2"), header("x", Some(" ")));
    assert_eq!(parse("header web insert$SP2"), header(" ", None));
    assert_eq!(
        parse("header$TAB web$TAB insert$TAB x$TAB:$TAB y"),
        header("x", Some("y"))
    );
    assert_eq!(
        err("header web insert$SP"),
        "Usage: HEADER <service> {INSERT|REMOVE} <header>[: <value>]"
    );
}

#[test]
fn mime_and_xs_with_space_runs() {
    assert_eq!(err("mime$SP"), "Invalid syntax to 'mime' command");
    assert_eq!(err("mime list$SP"), "Invalid syntax to 'mime' command");
    assert_eq!(parse("mime$W2LIST"), Ok(Command::Mime(MimeCommand::List)));
    assert_eq!(
        parse("mime set$W2A b"),
        Ok(Command::Mime(MimeCommand::Set {
            ext: "a".into(),
            mime_type: "b".into()
        }))
    );
    assert_eq!(err("mime set a b$SP"), "Invalid syntax to 'mime' command");
    assert_eq!(err("mime set$TAB/x"), "Usage: set <ext> <mime>");
    assert_eq!(err("xs$SP"), "Invalid syntax to 'xs' command");
    assert_eq!(
        parse("xs enable$TAB headers"),
        Ok(Command::Xs(XsCommand::Enable("headers".into())))
    );
}

#[test]
fn shutdown_nodes_prof_with_space_runs() {
    assert_eq!(err("shutdown$SP2"), "Invalid syntax to 'shutdown' command");
    assert_eq!(
        err("shutdown graceful$SP2"),
        "Invalid syntax to 'shutdown' command"
    );
    assert_eq!(
        parse("shutdown$SP"),
        Ok(Command::Shutdown(ShutdownMode::Immediate))
    );
    assert_eq!(
        parse("nodes$SP2 1.2.3.4"),
        Ok(Command::Nodes {
            node: Some("1.2.3.4:80".into())
        })
    );
    assert_eq!(err("nodes 1.2.3.4$SP"), "Invalid syntax to 'nodes' command");
    assert_eq!(
        parse("nodes 1 2 3 4"),
        Ok(Command::Nodes {
            node: Some("1 2 3 4:80".into())
        })
    );
    assert_eq!(parse("prof$TAB data"), Ok(Command::Prof(ProfAction::Data)));
    assert_eq!(err("prof on$SP"), "Invalid syntax to 'prof' command");
    assert_eq!(
        parse("show pool$TAB pl"),
        Ok(Command::Show(ShowCommand::Pool("pl".into())))
    );
}
