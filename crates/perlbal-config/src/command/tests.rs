//! Grammar tests: every built-in command and every syntax message, as observed on Perlbal 1.80.

use std::net::{Ipv4Addr, SocketAddrV4};

use super::*;
use crate::lexer::tests::FakeEnv;
use crate::lexer::EmptyEnvironment;
use crate::server_param::{AioMode, ServerParam};

fn parse(raw: &str) -> Result<Command, CommandError> {
    let line = Line::lex(raw, &EmptyEnvironment)
        .unwrap()
        .expect("a command line");
    Command::parse(&line)
}

fn ok(raw: &str) -> Command {
    parse(raw).unwrap_or_else(|e| panic!("{raw:?} failed: {e}"))
}

/// Parses with `$SP` set to one space, to get whitespace runs past the lexer's collapsing.
fn parse_spaced(raw: &str) -> Result<Command, CommandError> {
    let env = FakeEnv::default().with_var("SP", " ");
    let line = Line::lex(raw, &env).unwrap().expect("a command line");
    Command::parse(&line)
}

fn err(raw: &str) -> String {
    match parse_spaced(raw) {
        Ok(c) => panic!("{raw:?} parsed as {c:?}"),
        Err(e) => e.to_string(),
    }
}

fn node(a: [u8; 4], port: u16) -> SocketAddrV4 {
    SocketAddrV4::new(Ipv4Addr::from(a), port)
}

#[test]
fn help_lists_builtin_commands_sorted() {
    let names = Command::help_names();
    assert_eq!(names.len(), 41);
    assert!(names.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(
        names.join(" "),
        "aio backends create default disable dumpconfig enable fd \
        gladiator header help leaks load mime node nodes noverify obj pending plugins pool proc \
        prof queues reload reproxy_state server set show shutdown socks state states track unload \
        uptime use varsize verbose version xs"
    );
    // Every listed name is a built-in command, not `Other`.
    for name in names {
        assert!(!matches!(parse(name), Ok(Command::Other { .. })), "{name}");
    }
}

#[test]
fn argumentless_commands_and_their_refusal() {
    let cases = [
        ("aio", Command::Aio),
        ("backends", Command::Backends),
        ("fd", Command::Fd),
        ("gladiator", Command::Gladiator),
        ("help", Command::Help),
        ("noverify", Command::Noverify),
        ("obj", Command::Obj),
        ("pending", Command::Pending),
        ("plugins", Command::Plugins),
        ("proc", Command::Proc),
        ("queues", Command::Queues),
        ("track", Command::Track),
        ("uptime", Command::Uptime),
        ("version", Command::Uptime),
        ("varsize", Command::Varsize),
    ];
    for (word, command) in cases {
        assert_eq!(ok(word), command);
        assert_eq!(ok(&word.to_uppercase()), command);
        assert_eq!(
            err(&format!("{word} x")),
            format!("The '{word}' command takes no arguments")
        );
    }
    assert_eq!(err("help=x"), "The 'help' command takes no arguments");
}

#[test]
fn dumpconfig_and_reproxy_state_ignore_arguments() {
    assert_eq!(ok("dumpconfig"), Command::Dumpconfig);
    assert_eq!(ok("dumpconfig extra args"), Command::Dumpconfig);
    assert_eq!(ok("reproxy_state"), Command::ReproxyState);
    assert_eq!(ok("reproxy_state x"), Command::ReproxyState);
}

#[test]
fn crash_is_any_line_with_first_word_crash() {
    assert_eq!(ok("crash"), Command::Crash);
    assert_eq!(ok("CRASH now please"), Command::Crash);
    assert!(matches!(ok("crashx"), Command::Other { ref word, .. } if word == "crashx"));
}

#[test]
fn unknown_word_becomes_other_with_line() {
    let Command::Other { word, line } = ok("VHOST sel *.example.com = web") else {
        panic!("not other");
    };
    assert_eq!(word, "vhost");
    assert_eq!(line.text(), "vhost sel *.example.com = web");
    assert_eq!(line.original(), "VHOST sel *.example.com = web");
    assert_eq!(
        CommandError::UnknownCommand("foo".into()).to_string(),
        "unknown command: foo"
    );
}

#[test]
fn line_not_starting_with_word_is_invalid() {
    assert_eq!(err("-foo"), "invalid command");
    assert_eq!(err("=foo"), "invalid command");
    assert_eq!(err("é"), "invalid command");
}

#[test]
fn create_service_or_pool() {
    assert_eq!(
        ok("CREATE POOL MyPool"),
        Command::Create {
            kind: ObjectKind::Pool,
            name: "mypool".into()
        }
    );
    assert_eq!(
        ok("create service web_1"),
        Command::Create {
            kind: ObjectKind::Service,
            name: "web_1".into()
        }
    );
    for bad in [
        "create",
        "create foo",
        "create pool",
        "create pool a b",
        "create thing x",
        "create pool a-b",
        "create$SP pool x",
    ] {
        assert_eq!(err(bad), "usage: CREATE {service|pool} <name>", "{bad}");
    }
}

#[test]
fn use_name() {
    assert_eq!(ok("use zz3"), Command::Use { name: "zz3".into() });
    assert_eq!(ok("USE ZZ3"), Command::Use { name: "zz3".into() });
    for bad in ["use", "use ZZ3 x", "use a.b"] {
        assert_eq!(err(bad), "usage: USE <service_or_pool_name>", "{bad}");
    }
}

fn set(target: Option<&str>, key: &str, value: &str) -> Command {
    Command::Set(SetCommand {
        target: target.map(str::to_owned),
        key: key.into(),
        value: value.into(),
    })
}

#[test]
fn set_grammar_forms() {
    assert_eq!(ok("set foo = bar"), set(None, "foo", "bar"));
    assert_eq!(
        ok("SET Svc.Key = MixedCase"),
        set(Some("svc"), "key", "MixedCase")
    );
    assert_eq!(ok("set svc key = val"), set(Some("svc"), "key", "val"));
    assert_eq!(ok("set svc key=val"), set(Some("svc"), "key", "val"));
    assert_eq!(ok("set key=val"), set(None, "key", "val"));
    assert_eq!(ok("set a.b.c = x"), set(Some("a"), "b.c", "x"));
    assert_eq!(
        ok("set svc.extra.foo = x"),
        set(Some("svc"), "extra.foo", "x")
    );
    assert_eq!(ok("set key = a = b"), set(None, "key", "a = b"));
    assert_eq!(ok("set .foo = x"), set(None, ".foo", "x"));
}

#[test]
fn set_quirks_of_the_optional_target() {
    // CFG-13: the first word is taken as the target whenever the rest still parses.
    assert_eq!(ok("set extra.foo = x"), set(Some("extra"), "foo", "x"));
    assert_eq!(
        ok("set highpri.uri_pattern = x"),
        set(Some("highpri"), "uri_pattern", "x")
    );
    // ... and not when it would leave no key.
    assert_eq!(ok("set zz3 = x"), set(None, "zz3", "x"));
    // `$name ||= context`: a target named 0 means "use the context".
    assert_eq!(ok("set 0.foo = x"), set(None, "foo", "x"));
}

#[test]
fn set_usage_errors() {
    for bad in [
        "set",
        "set = x",
        "set foo",
        "set foo =",
        "set foo bar baz = x",
        "set foo$SP = x",
        "set a-b = x",
    ] {
        assert_eq!(
            err(bad),
            "usage: SET [<service>] <param> = <value>",
            "{bad}"
        );
    }
}

#[test]
fn set_value_from_environment_keeps_its_spaces() {
    let env = FakeEnv::default().with_var("V", "  two");
    let line = Line::lex("set k = $V", &env).unwrap().unwrap();
    assert_eq!(Command::parse(&line), Ok(set(None, "k", "  two")));
}

#[test]
fn default_param() {
    assert_eq!(
        ok("Default bogus = 1"),
        Command::Default {
            key: "bogus".into(),
            value: "1".into()
        }
    );
    assert_eq!(
        ok("default persist_client=On"),
        Command::Default {
            key: "persist_client".into(),
            value: "On".into()
        }
    );
    for bad in ["default", "default x.y = 1", "default x", "default x ="] {
        assert_eq!(err(bad), "usage: DEFAULT <param> = <value>", "{bad}");
    }
}

#[test]
fn enable_and_disable() {
    assert_eq!(
        ok("ENABLE web"),
        Command::Enable {
            service: "web".into()
        }
    );
    assert_eq!(
        ok("disable web"),
        Command::Disable {
            service: "web".into()
        }
    );
    for bad in ["enable", "disable", "enable a b", "disable a.b"] {
        assert_eq!(err(bad), "Usage: {ENABLE|DISABLE} <service>", "{bad}");
    }
}

fn pool(action: PoolAction, name: &str, at: SocketAddrV4) -> Command {
    Command::Pool(PoolCommand {
        action,
        pool: name.into(),
        node: at,
    })
}

#[test]
fn pool_verb_and_name_in_either_order() {
    assert_eq!(
        ok("pool add pl 1.2.3.4"),
        pool(PoolAction::Add, "pl", node([1, 2, 3, 4], 80))
    );
    assert_eq!(
        ok("POOL pl ADD 1.2.3.5:81"),
        pool(PoolAction::Add, "pl", node([1, 2, 3, 5], 81))
    );
    assert_eq!(
        ok("pool remove pl 1.2.3.4:8080"),
        pool(PoolAction::Remove, "pl", node([1, 2, 3, 4], 8080))
    );
    assert_eq!(
        ok("pool pl remove 1.2.3.4"),
        pool(PoolAction::Remove, "pl", node([1, 2, 3, 4], 80))
    );
    // `$port ||= 80`
    assert_eq!(
        ok("pool add pl 1.2.3.4:0"),
        pool(PoolAction::Add, "pl", node([1, 2, 3, 4], 80))
    );
    // Both words are verbs: the second is the verb, the first the pool.
    assert_eq!(
        ok("pool add remove 1.2.3.4"),
        pool(PoolAction::Remove, "add", node([1, 2, 3, 4], 80))
    );
}

#[test]
fn pool_errors() {
    assert_eq!(
        err("pool foo pl 1.2.3.4"),
        "Invalid command:  must be 'add' or 'remove'"
    );
    for bad in [
        "pool add pl localhost:80",
        "pool add pl",
        "pool add pl 1.2.3",
        "pool add 1.2.3.4",
        "pool",
        "pool add pl 1.2.3.4:99999",
        "pool add p-l 1.2.3.4",
        "pool add pl 1.2.3.4:",
    ] {
        assert_eq!(err(bad), "Invalid syntax to 'pool' command", "{bad}");
    }
    // Passes the original's loose pattern but is no IPv4 address: refused here.
    assert_eq!(
        err("pool add pl 1x2x3x4"),
        "Invalid syntax to 'pool' command"
    );
    assert_eq!(
        err("pool add pl 300.1.1.1"),
        "Invalid syntax to 'pool' command"
    );
    // The verb is checked before the address.
    assert_eq!(
        err("pool foo pl 1x2x3x4"),
        "Invalid command:  must be 'add' or 'remove'"
    );
    assert_eq!(
        CommandError::PoolNotFound("nosuch".into()).to_string(),
        "Pool 'nosuch' not found"
    );
}

fn header(service: &str, action: HeaderAction, name: &str, value: Option<&str>) -> Command {
    Command::Header(HeaderCommand {
        service: service.into(),
        action,
        name: name.into(),
        value: value.map(str::to_owned),
    })
}

#[test]
fn header_forms() {
    use HeaderAction::{Insert, Remove};
    assert_eq!(
        ok("HEADER web INSERT X-Foo: Bar"),
        header("web", Insert, "x-foo", Some("bar"))
    );
    assert_eq!(
        ok("header web insert x-foo:bar"),
        header("web", Insert, "x-foo", Some("bar"))
    );
    assert_eq!(
        ok("header web insert x-foo : bar"),
        header("web", Insert, "x-foo", Some("bar"))
    );
    assert_eq!(
        ok("header web insert a:b:c"),
        header("web", Insert, "a", Some("b:c"))
    );
    assert_eq!(
        ok("header web remove x-foo"),
        header("web", Remove, "x-foo", None)
    );
    assert_eq!(
        ok("header web insert x-foo"),
        header("web", Insert, "x-foo", None)
    );
    assert_eq!(
        ok("header web insert x-foo:"),
        header("web", Insert, "x-foo:", None)
    );
    assert_eq!(
        ok("header web insert : bar"),
        header("web", Insert, ": bar", None)
    );
    // Case survives after an `=` (CFG-5).
    assert_eq!(
        ok("HEADER web INSERT X=Y: Z"),
        header("web", Insert, "x=Y", Some("Z"))
    );
}

#[test]
fn header_usage_errors() {
    for bad in [
        "header",
        "header web",
        "header web insert",
        "header web frob x",
        "header web insertx y",
        "header w-b insert x: y",
    ] {
        assert_eq!(
            err(bad),
            "Usage: HEADER <service> {INSERT|REMOVE} <header>[: <value>]",
            "{bad}"
        );
    }
}

#[test]
fn header_edit_checks_after_service_lookup() {
    let edit = |raw: &str| match ok(raw) {
        Command::Header(h) => h.edit(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        edit("header web insert x-foo: bar"),
        Ok(HeaderEdit::Insert {
            name: "x-foo".into(),
            value: "bar".into()
        })
    );
    assert_eq!(
        edit("header web insert a: 0"),
        Ok(HeaderEdit::Insert {
            name: "a".into(),
            value: "0".into()
        })
    );
    assert_eq!(
        edit("header web remove x-foo: bar"),
        Ok(HeaderEdit::Remove {
            name: "x-foo".into()
        })
    );
    assert_eq!(
        edit("header web insert x-foo").unwrap_err().to_string(),
        "no value provided"
    );
    assert_eq!(
        edit("header web insert x-foo:").unwrap_err().to_string(),
        "no value provided"
    );
    assert_eq!(
        edit("header web insert 0: 1").unwrap_err().to_string(),
        "no header provided"
    );
}

#[test]
fn load_keeps_typed_case() {
    assert_eq!(
        ok("LOAD Vhosts"),
        Command::Load {
            plugin: "Vhosts".into()
        }
    );
    assert_eq!(
        ok("load EchoService"),
        Command::Load {
            plugin: "EchoService".into()
        }
    );
    let env = FakeEnv::default().with_var("P", "Throttle");
    let line = Line::lex("load $P", &env).unwrap().unwrap();
    assert_eq!(
        Command::parse(&line),
        Ok(Command::Load {
            plugin: "throttle".into()
        })
    );
    for bad in ["load", "load a b", "load a.b"] {
        assert_eq!(err(bad), "Invalid syntax to 'load' command", "{bad}");
    }
}

#[test]
fn unload_and_reload() {
    assert_eq!(
        ok("unload Vhosts"),
        Command::Unload {
            plugin: "vhosts".into()
        }
    );
    assert_eq!(
        ok("reload vhosts"),
        Command::Reload {
            plugin: "vhosts".into()
        }
    );
    assert_eq!(err("unload"), "Invalid syntax to 'unload' command");
    assert_eq!(err("reload a b"), "Invalid syntax to 'reload' command");
}

#[test]
fn server_settings() {
    assert_eq!(
        ok("SERVER max_reproxy_connections(1.2.3.4:80) = 2"),
        Command::Server(ServerParam::MaxReproxyConnections {
            host: Some("1.2.3.4:80".into()),
            limit: 2
        })
    );
    assert_eq!(
        ok("server aio_mode=ioaio"),
        Command::Server(ServerParam::AioMode(AioMode::IoAio))
    );
    assert_eq!(
        ok("server pidfile = /Var/Run/X.pid"),
        Command::Server(ServerParam::Pidfile(Some("/Var/Run/X.pid".into())))
    );
    assert_eq!(err("server foo = bar"), "unknown server option 'bar'");
    assert_eq!(
        err("server max_reproxy_connections = x"),
        "Expected numeric parameter"
    );
    assert_eq!(err("server aio_mode = foo"), "Unknown AIO mode");
    assert_eq!(err("server track_obj = 2"), "Expected 1 or 0");
    assert_eq!(err("server crash_backtrace = yes"), "Expected 1 or 0");
    for bad in ["server foo", "server", "server$SP foo = 1", "server = 1"] {
        assert_eq!(err(bad), "Invalid syntax to 'server' command", "{bad}");
    }
}

#[test]
fn verbose_on_off() {
    assert_eq!(ok("verbose ON"), Command::Verbose(true));
    assert_eq!(ok("verbose off"), Command::Verbose(false));
    for bad in ["verbose", "verbose maybe", "verbose on x"] {
        assert_eq!(err(bad), "usage: VERBOSE {on|off}", "{bad}");
    }
}

#[test]
fn shutdown_forms() {
    use ShutdownMode::{Graceful, Immediate};
    assert_eq!(ok("shutdown"), Command::Shutdown(Immediate));
    // A number without `graceful` is ignored.
    assert_eq!(ok("shutdown 5"), Command::Shutdown(Immediate));
    assert_eq!(
        ok("shutdown graceful"),
        Command::Shutdown(Graceful {
            force_exit_after: None
        })
    );
    assert_eq!(
        ok("shutdown graceful 30"),
        Command::Shutdown(Graceful {
            force_exit_after: Some(30)
        })
    );
    assert_eq!(
        ok("shutdown graceful30"),
        Command::Shutdown(Graceful {
            force_exit_after: Some(30)
        })
    );
    assert_eq!(
        ok("shutdown graceful 0"),
        Command::Shutdown(Graceful {
            force_exit_after: None
        })
    );
    for bad in [
        "shutdown now",
        "shutdown graceful x",
        "shutdown graceful 1 2",
    ] {
        assert_eq!(err(bad), "Invalid syntax to 'shutdown' command", "{bad}");
    }
}

#[test]
fn mime_forms() {
    assert_eq!(ok("mime"), Command::Mime(MimeCommand::List));
    assert_eq!(ok("mime list"), Command::Mime(MimeCommand::List));
    assert_eq!(ok("mime 0"), Command::Mime(MimeCommand::List));
    assert_eq!(
        ok("mime set html text/html"),
        Command::Mime(MimeCommand::Set {
            ext: "html".into(),
            mime_type: "text/html".into()
        })
    );
    assert_eq!(
        ok("mime remove zzz"),
        Command::Mime(MimeCommand::Remove { ext: "zzz".into() })
    );
    assert_eq!(
        ok("mime remove"),
        Command::Mime(MimeCommand::Remove { ext: String::new() })
    );
    assert_eq!(
        CommandError::MimeNotDefined(String::new()).to_string(),
        " not a defined extension."
    );
    assert_eq!(
        CommandError::MimeNotDefined("zzz".into()).to_string(),
        "zzz not a defined extension."
    );
}

#[test]
fn mime_errors() {
    for bad in [
        "mime set",
        "mime set a",
        "mime set 0 x",
        "mime set a 0",
        "mime set text/html",
    ] {
        assert_eq!(err(bad), "Usage: set <ext> <mime>", "{bad}");
    }
    assert_eq!(
        err("mime bogus"),
        "Usage: list, remove <ext>, set <ext> <mime>"
    );
    for bad in ["mime set a b c", "mime set/x", "mime/x", "mime set a/b x"] {
        assert_eq!(err(bad), "Invalid syntax to 'mime' command", "{bad}");
    }
}

#[test]
fn xs_forms_and_errors() {
    assert_eq!(ok("xs"), Command::Xs(XsCommand::Status));
    assert_eq!(
        ok("xs enable headers"),
        Command::Xs(XsCommand::Enable("headers".into()))
    );
    assert_eq!(
        ok("xs disable headers"),
        Command::Xs(XsCommand::Disable("headers".into()))
    );
    assert_eq!(err("xs foo bar"), "Known XS modules: headers.");
    assert_eq!(
        err("xs foo headers"),
        "Usage: xs [ <enable|disable> <module> ]"
    );
    for bad in ["xs enable", "xs enable headers x", "xs enable/headers"] {
        assert_eq!(err(bad), "Invalid syntax to 'xs' command", "{bad}");
    }
    for (e, text) in [
        (CommandError::XsEnableFailed, "Unable to enable module."),
        (CommandError::XsDisableFailed, "Unable to disable module."),
    ] {
        assert_eq!(e.to_string(), text);
    }
}

#[test]
fn nodes_forms() {
    assert_eq!(ok("nodes"), Command::Nodes { node: None });
    assert_eq!(ok("node"), Command::Nodes { node: None });
    assert_eq!(
        ok("nodes 1.2.3.4"),
        Command::Nodes {
            node: Some("1.2.3.4:80".into())
        }
    );
    assert_eq!(
        ok("node 1.2.3.4:8"),
        Command::Nodes {
            node: Some("1.2.3.4:8".into())
        }
    );
    assert_eq!(
        ok("nodes 1.2.3.4:0"),
        Command::Nodes {
            node: Some("1.2.3.4:80".into())
        }
    );
    assert_eq!(
        ok("nodes 1.2.3.4:080"),
        Command::Nodes {
            node: Some("1.2.3.4:080".into())
        }
    );
    assert_eq!(err("nodes localhost"), "Invalid syntax to 'nodes' command");
    assert_eq!(err("node x"), "Invalid syntax to 'node' command");
    assert!(matches!(ok("nodesx"), Command::Other { .. }));
}

#[test]
fn prof_forms() {
    assert_eq!(ok("prof on"), Command::Prof(ProfAction::On));
    assert_eq!(ok("prof off"), Command::Prof(ProfAction::Off));
    assert_eq!(ok("prof data"), Command::Prof(ProfAction::Data));
    for bad in ["prof", "prof on x", "prof maybe"] {
        assert_eq!(err(bad), "Invalid syntax to 'prof' command", "{bad}");
    }
    assert_eq!(
        CommandError::ProfilingUnavailable.to_string(),
        "Unable to enable profiling.  Please ensure you have the BSD::Resource module installed."
    );
}

#[test]
fn socks_forms() {
    assert_eq!(ok("socks"), Command::Socks(SocksMode::All));
    assert_eq!(ok("socks all"), Command::Socks(SocksMode::All));
    assert_eq!(ok("socks 0"), Command::Socks(SocksMode::All));
    assert_eq!(ok("socks summary"), Command::Socks(SocksMode::Summary));
    assert_eq!(ok("socks foo"), Command::Socks(SocksMode::Nothing));
    for bad in ["socks summary x", "socks a.b"] {
        assert_eq!(err(bad), "Invalid syntax to 'socks' command", "{bad}");
    }
}

#[test]
fn states_and_state() {
    assert_eq!(ok("states"), Command::States { service: None });
    assert_eq!(
        ok("states proxy"),
        Command::States {
            service: Some("proxy".into())
        }
    );
    assert_eq!(
        ok("states a b"),
        Command::States {
            service: Some("a b".into())
        }
    );
    assert_eq!(
        CommandError::ServiceNotFound.to_string(),
        "Service not found."
    );
    assert_eq!(ok("state changes"), Command::StateChanges);
    for bad in ["state", "state changes now", "state foo"] {
        assert_eq!(err(bad), "Invalid syntax to 'state' command", "{bad}");
    }
    assert_eq!(err("states="), "Invalid syntax to 'states' command");
}

#[test]
fn leaks_forms() {
    assert_eq!(ok("leaks"), Command::Leaks { expr: None });
    assert_eq!(
        ok("leaks $_->x"),
        Command::Leaks {
            expr: Some("->x".into())
        }
    );
    assert_eq!(err("leaks="), "Invalid syntax to 'leaks' command");
    assert_eq!(
        CommandError::LeaksDisabled.to_string(),
        "command disabled without $ENV{PERLBAL_DEBUG} set"
    );
}

#[test]
fn show_forms() {
    assert_eq!(ok("show service"), Command::Show(ShowCommand::Services));
    assert_eq!(
        ok("show service web"),
        Command::Show(ShowCommand::Service("web".into()))
    );
    assert_eq!(ok("show pool"), Command::Show(ShowCommand::Pools));
    assert_eq!(
        ok("show pool pl"),
        Command::Show(ShowCommand::Pool("pl".into()))
    );
    assert_eq!(ok("show pool 0"), Command::Show(ShowCommand::Pools));
    for bad in [
        "show",
        "show services",
        "show service a b",
        "show pool a b",
        "show poolx",
        "show service$SP web",
    ] {
        assert_eq!(err(bad), "Invalid syntax to 'show' command", "{bad}");
    }
    assert_eq!(CommandError::UnknownService.to_string(), "Unknown service");
    assert_eq!(
        CommandError::PoolDoesNotExist("x".into()).to_string(),
        "pool 'x' does not exist"
    );
}
