//! Headless Chromium driven over the Chrome DevTools Protocol: just enough of
//! a WebSocket client (RFC 6455, text frames) to open pages of the live portal,
//! run script in them as a person's clicks and typing would, take screenshots
//! and read the DOM.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The Chromium binary on PATH, if any.
pub fn chromium() -> Option<String> {
    ["chromium", "chromium-browser"]
        .into_iter()
        .find(|c| Command::new(c).arg("--version").output().is_ok())
        .map(str::to_owned)
}

/// One headless Chromium with one page, killed when dropped.
pub struct Browser {
    child: Child,
    socket: TcpStream,
    next_id: u64,
}

impl Browser {
    /// Starts Chromium with a fresh profile in `profile` and attaches to its page.
    pub fn launch(chromium: &str, profile: &Path, width: u32, height: u32) -> Browser {
        let mut child = Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--no-first-run",
                "--hide-scrollbars",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--window-size={width},{height}"))
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("chromium starts");
        let stderr = child.stderr.take().expect("chromium's standard error");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("DevTools listening on ") {
                    let _ = tx.send(url.to_owned());
                }
            }
        });
        let url = rx.recv_timeout(Duration::from_secs(60)).expect("chromium says where DevTools listen");
        let host = url.trim_start_matches("ws://").split('/').next().expect("host:port").to_owned();
        let socket = connect(&host, &page_path(&host));
        Browser { child, socket, next_id: 0 }
    }

    /// Sends one command and waits for its answer (events in between are dropped).
    pub fn call(&mut self, method: &str, params: Value) -> Result<Value, String> {
        self.next_id += 1;
        let id = self.next_id;
        send(&mut self.socket, &json!({ "id": id, "method": method, "params": params }).to_string());
        loop {
            let message: Value = serde_json::from_str(&receive(&mut self.socket)).expect("DevTools send JSON");
            if message["id"].as_u64() != Some(id) {
                continue;
            }
            return match message.get("error") {
                Some(error) => Err(error.to_string()),
                None => Ok(message["result"].clone()),
            };
        }
    }

    /// Opens `url` and waits until the page it leads to (after redirects) has loaded.
    pub fn open(&mut self, url: &str) {
        self.leaving();
        self.call("Page.navigate", json!({ "url": url })).expect("Page.navigate");
        self.wait_for("!window.__leaving", url);
    }

    /// Runs `script`, which leaves the page (a form's submit button clicked),
    /// and waits until the next page has loaded.
    pub fn submit(&mut self, script: &str, what: &str) {
        self.leaving();
        self.eval(script).unwrap_or_else(|e| panic!("{script}: {e}"));
        self.wait_for("!window.__leaving", what);
    }

    /// Marks the current document, so that its successor can be told apart.
    fn leaving(&mut self) {
        self.eval("window.__leaving = true").expect("the page runs script");
    }

    /// Runs `expression` in the page and returns its value.
    pub fn eval(&mut self, expression: &str) -> Result<Value, String> {
        let result = self.call("Runtime.evaluate", json!({ "expression": expression, "returnByValue": true }))?;
        match result.get("exceptionDetails") {
            Some(details) => Err(details.to_string()),
            None => Ok(result["result"]["value"].clone()),
        }
    }

    /// Waits up to 20 s until `predicate` (script) is true in the loaded page;
    /// script run while a page is being replaced counts as false.
    pub fn wait_for(&mut self, predicate: &str, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        let expression = format!("document.readyState === 'complete' && Boolean({predicate})");
        while self.eval(&expression) != Ok(Value::Bool(true)) {
            assert!(Instant::now() < deadline, "waited 20 s for {what}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The page's DOM as it is now (after its scripts ran), as `--dump-dom` prints it.
    pub fn dom(&mut self) -> String {
        self.eval("document.documentElement.outerHTML").expect("the DOM").as_str().unwrap_or_default().to_owned()
    }

    /// A PNG of the window, written to `path`; returns its bytes.
    pub fn screenshot(&mut self, path: &Path) -> Vec<u8> {
        let shot = self.call("Page.captureScreenshot", json!({ "format": "png" })).expect("a screenshot");
        let png = base64(shot["data"].as_str().unwrap_or_default());
        std::fs::write(path, &png).expect("the screenshot is written");
        png
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The WebSocket path of Chromium's first page, from its `/json/list`.
fn page_path(host: &str) -> String {
    let out = Command::new("curl").args(["-s", "--max-time", "20", &format!("http://{host}/json/list")]).output();
    let list: Value = serde_json::from_slice(&out.expect("curl runs").stdout).expect("a list of targets");
    let page = list.as_array().and_then(|l| l.iter().find(|t| t["type"] == "page")).expect("a page target");
    let url = page["webSocketDebuggerUrl"].as_str().expect("the page's WebSocket URL");
    format!("/{}", url.trim_start_matches("ws://").split_once('/').expect("a path").1)
}

/// Opens a WebSocket: the HTTP upgrade, checked for `101`.
fn connect(host: &str, path: &str) -> TcpStream {
    let mut socket = TcpStream::connect(host).expect("DevTools accept connections");
    socket.set_read_timeout(Some(Duration::from_secs(30))).expect("a read timeout");
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    socket.write_all(request.as_bytes()).expect("the upgrade request is sent");
    let mut head = Vec::new();
    let mut byte = [0u8];
    while !head.ends_with(b"\r\n\r\n") {
        socket.read_exact(&mut byte).expect("the upgrade answer");
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    assert!(head.starts_with("HTTP/1.1 101"), "DevTools refused the WebSocket: {head}");
    socket
}

/// Sends one masked text frame (a client must mask; the key is arbitrary).
fn send(socket: &mut TcpStream, text: &str) {
    const MASK: [u8; 4] = [0x5a, 0x17, 0xc3, 0x8e];
    let payload = text.as_bytes();
    let mut frame = vec![0x81];
    match payload.len() {
        n if n < 126 => frame.push(0x80 | n as u8),
        n if n <= usize::from(u16::MAX) => {
            frame.push(0x80 | 126);
            frame.extend((n as u16).to_be_bytes());
        }
        n => {
            frame.push(0x80 | 127);
            frame.extend((n as u64).to_be_bytes());
        }
    }
    frame.extend(MASK);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ MASK[i % 4]));
    socket.write_all(&frame).expect("a frame is sent");
}

/// Receives one whole text message (joining continuation frames, answering pings).
fn receive(socket: &mut TcpStream) -> String {
    let mut message = Vec::new();
    loop {
        let mut head = [0u8; 2];
        socket.read_exact(&mut head).expect("a frame from DevTools");
        let (fin, opcode, masked) = (head[0] & 0x80 != 0, head[0] & 0x0f, head[1] & 0x80 != 0);
        let len = match head[1] & 0x7f {
            126 => {
                let mut n = [0u8; 2];
                socket.read_exact(&mut n).expect("a length");
                u64::from(u16::from_be_bytes(n))
            }
            127 => {
                let mut n = [0u8; 8];
                socket.read_exact(&mut n).expect("a length");
                u64::from_be_bytes(n)
            }
            n => u64::from(n),
        };
        let mut mask = [0u8; 4];
        if masked {
            socket.read_exact(&mut mask).expect("a mask");
        }
        let mut payload = vec![0u8; usize::try_from(len).expect("a frame that fits in memory")];
        socket.read_exact(&mut payload).expect("a payload");
        if masked {
            payload.iter_mut().enumerate().for_each(|(i, b)| *b ^= mask[i % 4]);
        }
        match opcode {
            0x8 => panic!("DevTools closed the connection"),
            0x9 => {
                let mut pong = vec![0x8a, 0x80 | payload.len() as u8, 0, 0, 0, 0];
                pong.extend(&payload);
                socket.write_all(&pong).expect("a pong is sent");
            }
            0xa => {}
            _ => {
                message.extend(payload);
                if fin {
                    return String::from_utf8(message).expect("DevTools send UTF-8 text");
                }
            }
        }
    }
}

/// Decodes standard base64 (padding and other characters skipped).
fn base64(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => continue,
        };
        acc = (acc << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}
