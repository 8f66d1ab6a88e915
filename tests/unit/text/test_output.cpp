// output.hpp: text made safe for a person's terminal (what someone else
// wrote never reaches it as an escape sequence). The choice of output form
// is tested with cap-info's output in test_info.cpp.
#include "capture/text/output.hpp"

#include <catch2/catch.hpp>

#include <sstream>
#include <string>

using namespace std::string_literals;

TEST_CASE("control characters reach a terminal as \\xNN, text as it is") {
    CHECK(capture::terminal_safe("grant Tue Feb 17\ttraffic") == "grant Tue Feb 17\ttraffic");
    CHECK(capture::terminal_safe("\x1b]0;owned\a\x1b[2J") == "\\x1b]0;owned\\x07\\x1b[2J");
    CHECK(capture::terminal_safe("a\nfake line\rover") == "a\\x0afake line\\x0dover");
    CHECK(capture::terminal_safe("a\nb", true) == "a\nb");
    CHECK(capture::terminal_safe("\x7f"s + "\0"s) == "\\x7f\\x00");
    // C1 controls in UTF-8 (CSI is U+009B), but not the letters beside them.
    CHECK(capture::terminal_safe("\xc2\x9b" "2J caf\xc3\xa9 \xc2\xa0") == "\\xc2\\x9b2J caf\xc3\xa9 \xc2\xa0");
    CHECK(capture::terminal_safe("\xff\xfe") == "\xff\xfe");  // not UTF-8, but no control either
}

TEST_CASE("the terminal filter makes everything written through it safe, newlines kept") {
    std::ostringstream sink;
    {
        capture::terminal_safe_buf buf(sink.rdbuf());
        std::ostream out(&buf);
        out << "Analyst: \x1b[31mevil\n" << "Description: a\xc2" << "\x85" "b caf\xc3\xa9\n" << 'x' << '\xc2';
    }  // a byte held back at the end is written when the buffer goes
    CHECK(sink.str() == "Analyst: \\x1b[31mevil\nDescription: a\\xc2\\x85b caf\xc3\xa9\nx\xc2");
}

TEST_CASE("escape.hpp: \\xNN escapes and C1 controls in UTF-8") {
    std::string out;
    capture::append_hex_escape(out, 0x1b);
    capture::append_hex_escape(out, 0xff);
    CHECK(out == "\\x1b\\xff");
    CHECK(capture::c1_control_at("a\xc2\x9b", 1));
    CHECK(capture::c1_control_at("\xc2\x80", 0));
    CHECK_FALSE(capture::c1_control_at("\xc2\xa0", 0));  // U+00A0, a no-break space: text
    CHECK_FALSE(capture::c1_control_at("a\xc2", 1));     // cut short: no second byte
    CHECK_FALSE(capture::c1_control_at("\x9b", 0));
}
