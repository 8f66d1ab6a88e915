// The record format (man/cap-record.5): escaping, key order, bare paths,
// comments, pass-through of unknown keys, JSON Lines.
#include "capture/text/record.hpp"
#include "capture/text/record_json.hpp"

#include <catch2/catch.hpp>

#include <random>
#include <sstream>
#include <string>
#include <vector>

using capture::record;

TEST_CASE("values escape backslash, tab, newline and carriage return only") {
    CHECK(capture::escape_value("a\tb\nc\rd\\e=f g") == "a\\tb\\nc\\rd\\\\e=f g");
    CHECK(capture::unescape_value("a\\tb\\nc\\rd\\\\e=f g") == "a\tb\nc\rd\\e=f g");
    // A hand-typed unknown escape and a trailing backslash survive as written.
    CHECK(capture::unescape_value("c:\\path\\") == "c:\\path\\");
}

TEST_CASE("common keys take their fixed places; others keep arrival order") {
    record r;
    r.set("zeta", "1");
    r.set("file", "/x.pcap");
    r.set("alpha", "2");
    r.set("id", "abc");
    r.set("analyst", "grant");
    r.set("kind", "live");
    CHECK(capture::format_record(r) == "id=abc\tkind=live\tanalyst=grant\tfile=/x.pcap\tzeta=1\talpha=2");
    r.set("zeta", "3");  // replaced in place
    CHECK(capture::format_record(r) == "id=abc\tkind=live\tanalyst=grant\tfile=/x.pcap\tzeta=3\talpha=2");
    r.erase("kind");
    CHECK_FALSE(r.has("kind"));
    CHECK_THROWS_AS(r.set("Bad-Key", "x"), capture::error);
}

TEST_CASE("a record read is written back unchanged, unknown keys in order") {
    std::string line = "id=1\tstate=running\tfile=/a b.pcap\tweird_key=x\\ty\tdesc=irc traffic\tanalyst=grant";
    auto r = capture::parse_record_line(line);
    REQUIRE(r);
    CHECK(capture::format_record(*r) == line);
    CHECK(r->get("weird_key") == "x\ty");
    r->set("sha256", "00ff");
    CHECK(capture::format_record(*r) == line + "\tsha256=00ff");
}

TEST_CASE("bare paths, blank lines and comments") {
    CHECK_FALSE(capture::parse_record_line(""));
    CHECK_FALSE(capture::parse_record_line("   "));
    CHECK_FALSE(capture::parse_record_line("# a comment"));
    auto bare = capture::parse_record_line("/nsm/daemonlogger.pcap.1700000000");
    REQUIRE(bare);
    CHECK(bare->get("file") == "/nsm/daemonlogger.pcap.1700000000");
    // An '=' inside a path whose prefix is not a key is still a path.
    auto odd = capture::parse_record_line("/nsm/x=y.pcap");
    REQUIRE(odd);
    CHECK(odd->get("file") == "/nsm/x=y.pcap");
    auto crlf = capture::parse_record_line("file=/a.pcap\r");
    REQUIRE(crlf);
    CHECK(crlf->get("file") == "/a.pcap");
}

TEST_CASE("malformed record lines are refused with their line number") {
    CHECK_THROWS_AS(capture::parse_record_line("file=/a\tnot a field"), capture::record_error);
    CHECK_THROWS_AS(capture::parse_record_line("file=/a\tBAD=1"), capture::record_error);
    std::istringstream in("# header\nfile=/a.pcap\n\nfile=/b\tjunk\n/c.pcap\n");
    capture::record_reader reader(in, "stdin");
    record r;
    REQUIRE(reader.next(r));
    CHECK(r.get("file") == "/a.pcap");
    try {
        reader.next(r);
        FAIL("expected a record_error");
    } catch (const capture::record_error& e) {
        CHECK(std::string(e.what()).find("stdin:4:") == 0);
    }
    REQUIRE(reader.next(r));  // reading goes on after a bad line
    CHECK(r.get("file") == "/c.pcap");
    CHECK_FALSE(reader.next(r));
}

TEST_CASE("junk lines are reported with their line number, never taken for a capture") {
    using namespace std::string_literals;
    // Binary, half records, an overlong line, NUL bytes, a future key.
    std::string text = "file=/a.pcap\n"s + "\x01\x02\xff\xfe\x1b[2J\n" + "id=abc\tki\n" +
                       std::string(capture::max_record_line + 10, 'x') + "\n" + "file=/b\0.pcap\n"s +
                       "\0\0\0\n"s + "format_version=2\tfile=/c.pcap\n" + "/d.pcap";
    std::istringstream in(text);
    capture::record_reader reader(in, "standard input");
    std::vector<std::string> files, errors;
    for (;;) {
        record r;
        try {
            if (!reader.next(r)) break;
        } catch (const capture::record_error& e) {
            errors.push_back(e.what());
            continue;
        }
        files.push_back(r.get("file"));
    }
    // A line of other bytes is a path (a file name may hold any byte but
    // NUL and '/'), which the tool then fails to open and names.
    CHECK(files == std::vector<std::string>{"/a.pcap", "\x01\x02\xff\xfe\x1b[2J", "/c.pcap", "/d.pcap"});
    REQUIRE(errors.size() == 4);
    CHECK_THAT(errors[0], Catch::StartsWith("standard input:3: field 'ki' is not key=value"));
    CHECK_THAT(errors[1], Catch::StartsWith("standard input:4: a line longer than 1 MiB"));
    CHECK_THAT(errors[2], Catch::StartsWith("standard input:5: binary data (a NUL byte)"));
    CHECK_THAT(errors[3], Catch::StartsWith("standard input:6: binary data (a NUL byte)"));
    CHECK(reader.line_number() == 8);
}

TEST_CASE("a capture piped in where records are expected is refused once, and not read") {
    using namespace std::string_literals;
    std::string pcap = "\xd4\xc3\xb2\xa1\x02\x00\x04\x00"s + std::string(16, '\0') + "\nfile=/a.pcap\n";
    std::istringstream in(pcap);
    capture::record_reader reader(in, "standard input");
    record r;
    CHECK_THROWS_WITH(reader.next(r), Catch::StartsWith("standard input:1: binary data, not records"));
    CHECK_FALSE(reader.next(r));
}

TEST_CASE("random values full of tabs, newlines, backslashes, = and UTF-8 round-trip") {
    const std::vector<std::string> alphabet = {"\t", "\n", "\r", "\\", "=", "a", "Z", "0", " ", "#",
                                               "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x90\x9F", "\\t", "\\n"};
    std::mt19937 rng(20090217);
    for (int round = 0; round < 2000; ++round) {
        record r;
        int nfields = 1 + static_cast<int>(rng() % 6);
        for (int f = 0; f < nfields; ++f) {
            std::string value;
            int len = static_cast<int>(rng() % 24);
            for (int k = 0; k < len; ++k) value += alphabet[rng() % alphabet.size()];
            r.set("k" + std::to_string(f), value);
        }
        std::string line = capture::format_record(r);
        REQUIRE(line.find('\n') == std::string::npos);
        auto back = capture::parse_record_line(line);
        REQUIRE(back);
        REQUIRE(*back == r);
    }
}

TEST_CASE("JSON Lines carry the same fields as strings") {
    record r{{"file", "/a \"b\".pcap"}, {"desc", "tab\there\nnewline"}, {"note", "caf\xC3\xA9"}};
    CHECK(capture::format_json(r) ==
          "{\"file\":\"/a \\\"b\\\".pcap\",\"desc\":\"tab\\there\\nnewline\",\"note\":\"caf\xC3\xA9\"}");
    // Bytes that are not UTF-8 cannot travel in JSON: U+FFFD stands in.
    record latin{{"desc", "caf\xE9"}};
    CHECK(capture::format_json(latin) == "{\"desc\":\"caf\xEF\xBF\xBD\"}");
    CHECK(capture::json_quote(std::string("\x01", 1)) == "\"\\u0001\"");
}
