//! Helpers shared by the `protocol_*` integration tests.
#![allow(dead_code)]

use ws6455::frame::{Frame, OpCode};
use ws6455::protocol::{Protocol, Receiver, Sender};
use ws6455::{CloseCode, Config, Error, Message, Role};

pub const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// A frame as a client sends it (masked with [`KEY`]).
pub fn client_frame(fin: bool, opcode: OpCode, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    Frame::new(fin, opcode, payload.to_vec())
        .masked(KEY)
        .write_to(&mut out);
    out
}

/// A frame as a server sends it (unmasked).
pub fn server_frame(fin: bool, opcode: OpCode, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    Frame::new(fin, opcode, payload.to_vec()).write_to(&mut out);
    out
}

/// Raw header bytes followed by a masked payload.
pub fn raw_masked(b0: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = client_frame(true, OpCode::Binary, payload);
    f[0] = b0;
    f
}

pub fn server() -> Protocol {
    Protocol::new(Role::Server, Config::default())
}

pub fn client() -> Protocol {
    Protocol::new(Role::Client, Config::default())
}

/// One outcome of `next_message`, in a form that compares easily.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Msg(Message),
    Protocol(ws6455::ProtocolError),
    Closed,
}

/// Calls `next_message` until it needs more bytes, recording what came out.
pub fn drain(p: &mut Protocol, events: &mut Vec<Event>) {
    drain_with(|| p.next_message(), events);
}

/// Same for a bare receiver.
pub fn drain_rx(rx: &mut Receiver, events: &mut Vec<Event>) {
    drain_with(|| rx.next_message(), events);
}

fn drain_with(mut next: impl FnMut() -> ws6455::Result<Option<Message>>, events: &mut Vec<Event>) {
    loop {
        match next() {
            Ok(Some(m)) => events.push(Event::Msg(m)),
            Ok(None) => return,
            Err(Error::Protocol(e)) => {
                events.push(Event::Protocol(e));
                return;
            }
            Err(Error::ConnectionClosed) => {
                if events.last() != Some(&Event::Closed) {
                    events.push(Event::Closed);
                }
                return;
            }
            Err(e) => panic!("unexpected error {e}"),
        }
    }
}

/// Feeds `bytes` in one go and returns the events.
pub fn feed(p: &mut Protocol, bytes: &[u8]) -> Vec<Event> {
    let mut ev = Vec::new();
    p.receive(bytes);
    drain(p, &mut ev);
    ev
}

/// Feeds `bytes` one at a time and returns the events.
pub fn feed_bytewise(p: &mut Protocol, bytes: &[u8]) -> Vec<Event> {
    let mut ev = Vec::new();
    for b in bytes {
        p.receive(std::slice::from_ref(b));
        drain(p, &mut ev);
    }
    ev
}

/// The frames in a byte stream written by a peer (unmasked for us), all of them whole.
pub fn frames(mut wire: &[u8]) -> Vec<Frame> {
    let mut out = Vec::new();
    while !wire.is_empty() {
        let (f, n) = Frame::parse(wire)
            .expect("valid frame")
            .expect("whole frame");
        out.push(f);
        wire = &wire[n..];
    }
    out
}

/// The close code of the single close frame at the end of `wire`, if any.
pub fn close_code_in(wire: &[u8]) -> Option<Option<CloseCode>> {
    let fs = frames(wire);
    let last = fs.last()?;
    if last.header.opcode != OpCode::Close {
        return None;
    }
    Some(if last.payload.len() >= 2 {
        Some(CloseCode::from(u16::from_be_bytes([
            last.payload[0],
            last.payload[1],
        ])))
    } else {
        None
    })
}

/// Asserts that `p` failed with `code`: the error was reported, a close with that code is
/// queued, and the connection is over.
pub fn assert_failed_with(p: &mut Protocol, events: &[Event], code: CloseCode) {
    match events.last() {
        Some(Event::Protocol(e)) => assert_eq!(e.close_code(), code, "{e}"),
        other => panic!("expected a protocol error, got {other:?} (all: {events:?})"),
    }
    assert_eq!(close_code_in(p.pending()), Some(Some(code)));
    assert!(p.is_done());
    assert_eq!(p.state(), ws6455::protocol::State::Failed);
    assert!(matches!(p.next_message(), Err(Error::ConnectionClosed)));
}

/// Client-to-server frames for `msgs`, masked, each message in frames of `fragment` bytes.
pub fn client_wire(msgs: &[Message], fragment: usize) -> Vec<u8> {
    let mut tx = Sender::new(Role::Client, &Config::default().fragment_size(fragment));
    for m in msgs {
        tx.send(m).unwrap();
    }
    tx.pending().to_vec()
}

/// Text and binary messages of many sizes (empty, multi-byte text, 4-5 KB) and a ping, for
/// the frame-by-frame and piece reads.
pub fn mixed_messages() -> Vec<Message> {
    vec![
        Message::text("hello"),
        Message::binary(vec![]),
        Message::text("é€😀".repeat(300)),
        Message::Ping(b"p".to_vec()),
        Message::binary((0..5000u32).map(|i| i as u8).collect::<Vec<_>>()),
        Message::text(""),
        Message::binary(vec![7; 100]),
        Message::text("a".repeat(4096)),
    ]
}
