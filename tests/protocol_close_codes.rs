//! Every possible close code received from a peer: the ones allowed on the wire are accepted and
//! echoed, every other one fails the connection with 1002.

mod protocol_util;

use protocol_util::*;
use ws6455::frame::OpCode;
use ws6455::protocol::State;
use ws6455::{CloseCode, CloseFrame, Message, ProtocolError};

fn allowed(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

#[test]
fn every_u16_close_code_is_accepted_or_refused_with_1002() {
    let mut accepted = 0;
    for code in 0..=u16::MAX {
        let mut p = server();
        let mut payload = code.to_be_bytes().to_vec();
        payload.extend_from_slice(b"why");
        let ev = feed(&mut p, &client_frame(true, OpCode::Close, &payload));
        if allowed(code) {
            accepted += 1;
            assert_eq!(
                ev,
                [
                    Event::Msg(Message::Close(Some(CloseFrame::new(
                        CloseCode::from(code),
                        "why"
                    )))),
                    Event::Closed
                ],
                "code {code}"
            );
            // Echoed with the same code and reason.
            let mut echo = vec![0x88, 0x05];
            echo.extend_from_slice(&code.to_be_bytes());
            echo.extend_from_slice(b"why");
            assert_eq!(p.pending(), echo, "code {code}");
            assert_eq!(p.state(), State::CloseReceived);
        } else {
            assert_eq!(
                ev,
                [Event::Protocol(ProtocolError::InvalidCloseCode(code))],
                "code {code}"
            );
            assert_eq!(close_code_in(p.pending()), Some(Some(CloseCode::Protocol)));
            assert_eq!(p.state(), State::Failed);
        }
    }
    assert_eq!(accepted, 4 + 8 + 2000);
}

#[test]
fn every_u16_close_code_can_be_sent_only_if_allowed_on_the_wire() {
    for code in 0..=u16::MAX {
        let mut p = server();
        let r = p.close(Some(CloseFrame::new(CloseCode::from(code), "")));
        assert_eq!(r.is_ok(), allowed(code), "code {code}");
        assert_eq!(p.close_sent(), allowed(code));
    }
}
