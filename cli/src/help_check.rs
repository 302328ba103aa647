//! Every subcommand, option and argument of `finegrain` explains itself in
//! `--help`: a test over the whole command tree, so a new option without help
//! text fails the build's tests.

use clap::CommandFactory;

fn missing_help(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
    for arg in command.get_arguments() {
        let builtin = matches!(arg.get_id().as_str(), "help" | "version");
        if arg.get_help().is_none() && !builtin {
            missing.push(format!("{path}: {}", arg.get_id()));
        }
    }
    for sub in command.get_subcommands() {
        let sub_path = format!("{path} {}", sub.get_name());
        if sub.get_about().is_none() && sub.get_name() != "help" {
            missing.push(format!("{sub_path}: the subcommand itself"));
        }
        missing_help(sub, &sub_path, missing);
    }
}

#[test]
fn every_option_argument_and_subcommand_has_help_text() {
    let mut missing = Vec::new();
    missing_help(&crate::Cli::command(), "finegrain", &mut missing);
    assert!(missing.is_empty(), "no help text for:\n{}", missing.join("\n"));
}
