//! A minimal HTTP/1.1 client over loopback for the tests and the load
//! examples: one request per connection, the answer read whole (with
//! `Content-Length` or chunked). Real clients (a browser, curl) are used
//! where the point is what a real client does.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// An HTTP answer: status, headers (lower-case names), body.
pub type HttpReply = (u16, Vec<(String, String)>, Vec<u8>);

/// A minimal HTTP/1.1 request over loopback (`Connection: close`); returns
/// the status and the body. Used by the CLI's control channel and by tests.
pub fn request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<HttpReply> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(600)))?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    let raw = read_answer(&mut stream)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no HTTP header"))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("bad status line"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let rest = &raw[split + 4..];
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.to_ascii_lowercase().contains("chunked"));
    let length = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok());
    let body = if chunked {
        dechunk(rest)?
    } else if let Some(n) = length {
        rest.get(..n)
            .ok_or_else(|| std::io::Error::other("answer shorter than its Content-Length"))?
            .to_vec()
    } else {
        rest.to_vec()
    };
    Ok((status, headers, body))
}

/// Reads an answer until its body is complete (by `Content-Length` or the
/// last chunk) or the server closes: some servers (chromedriver) keep the
/// connection open despite `Connection: close`.
fn read_answer(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Ok(raw);
        }
        raw.extend_from_slice(&buf[..n]);
        let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
        let rest = &raw[split + 4..];
        let length = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse::<usize>().ok());
        let complete = match length {
            Some(n) => rest.len() >= n,
            None if head.contains("transfer-encoding: chunked") => dechunk(rest).is_ok(),
            None => false,
        };
        if complete {
            return Ok(raw);
        }
    }
}

/// Decodes a `Transfer-Encoding: chunked` body (RFC 9112 §7.1): hex sizes,
/// optional extensions, a zero chunk, optional trailers.
fn dechunk(mut raw: &[u8]) -> std::io::Result<Vec<u8>> {
    let bad = |what: &str| std::io::Error::other(format!("bad chunked answer: {what}"));
    let mut out = Vec::new();
    loop {
        let eol = raw
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or_else(|| bad("no chunk size line"))?;
        let line = std::str::from_utf8(&raw[..eol]).map_err(|_| bad("size not ASCII"))?;
        let hex = line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(hex, 16).map_err(|_| bad("size not hex"))?;
        raw = &raw[eol + 2..];
        if size == 0 {
            return Ok(out);
        }
        if raw.len() < size + 2 || &raw[size..size + 2] != b"\r\n" {
            return Err(bad("chunk shorter than its size"));
        }
        out.extend_from_slice(&raw[..size]);
        raw = &raw[size + 2..];
    }
}

/// Opens `GET /api/v1/events` with `headers` and reads the answer's head:
/// its status line, its header lines (lower-case), and the connection,
/// ready for the stream's lines (reads time out after 200 ms).
pub fn open_event_stream(
    addr: &str,
    headers: &[(&str, &str)],
) -> (String, Vec<String>, std::io::BufReader<TcpStream>) {
    use std::io::BufRead;
    let mut socket = TcpStream::connect(addr).unwrap();
    let mut head = format!("GET /api/v1/events HTTP/1.1\r\nHost: {addr}\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    socket.write_all(head.as_bytes()).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut lines = std::io::BufReader::new(socket);
    let started = std::time::Instant::now();
    let mut status = String::new();
    while status.is_empty() && started.elapsed() < Duration::from_secs(5) {
        let _ = lines.read_line(&mut status);
    }
    let mut header_lines = Vec::new();
    while started.elapsed() < Duration::from_secs(5) {
        let mut line = String::new();
        match lines.read_line(&mut line) {
            Ok(0) => break,
            Ok(_) if line == "\r\n" => break,
            Ok(_) => header_lines.push(line.trim_end().to_ascii_lowercase()),
            Err(_) => {}
        }
    }
    (status, header_lines, lines)
}

#[cfg(test)]
mod tests {
    use super::dechunk;

    #[test]
    fn chunked_answers_decode() {
        let raw = b"5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\n\r\n";
        assert_eq!(dechunk(raw).unwrap(), b"hello, world");
        assert!(dechunk(b"5\r\nhel").is_err());
        assert!(dechunk(b"zz\r\n").is_err());
    }
}
