//! What a command prints (CFG-7): `OK` on success in verbose mode, `ERROR: <message>` on
//! failure, listings ending with a `.` line.

use std::fmt::Display;

use super::CommandContext;

/// The lines a command printed, and whether it succeeded.
#[derive(Debug, Default)]
pub struct Output {
    lines: Vec<String>,
    failed: bool,
    error: Option<String>,
}

impl Output {
    /// Prints one line.
    pub fn line(&mut self, line: impl Into<String>) {
        self.lines.push(line.into());
    }

    /// Ends a listing with `.`.
    pub fn end(&mut self) {
        self.lines.push(".".to_string());
    }

    /// Success: `OK`, in verbose mode only.
    pub fn ok(&mut self, ctx: &CommandContext) {
        if ctx.verbose {
            self.lines.push("OK".to_string());
        }
    }

    /// Failure: `ERROR: <message>`. Later lines may still follow (the original prints `OK`
    /// after some errors, SVC-61).
    pub fn error(&mut self, message: &dyn Display) {
        let text = message.to_string();
        // A message ending in a newline loses it, as ManageCommand::err trims one.
        let text = text.strip_suffix('\n').unwrap_or(&text).to_string();
        self.lines.push(format!("ERROR: {text}"));
        self.failed = true;
        self.error.get_or_insert(text);
    }

    /// An error line that does not make the command fail (SVC-61's per-plugin complaint).
    pub fn warn_error(&mut self, message: &dyn Display) {
        self.lines.push(format!("ERROR: {message}"));
    }

    /// Whether no error was reported.
    pub fn succeeded(&self) -> bool {
        !self.failed
    }

    /// The first error's message.
    pub fn error_message(&self) -> Option<&str> {
        self.error.as_deref()
    }

    pub fn lines(&self) -> impl Iterator<Item = &str> {
        self.lines.iter().map(String::as_str)
    }

    pub fn into_lines(self) -> Vec<String> {
        self.lines
    }
}
