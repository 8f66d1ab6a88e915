// The audit line reaches a real syslog socket, and a failure to deliver
// it is reported instead of being lost.
#include "capture/text/audit.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstdlib>
#include <random>
#include <string>
#include <vector>

namespace {

// A datagram listener standing in for syslogd's /dev/log.
struct listener {
    std::string path;
    capture::unique_fd fd;
    listener() {
        char dir[] = "/tmp/capture-audit.XXXXXX";
        REQUIRE(::mkdtemp(dir) != nullptr);
        path = std::string(dir) + "/log";
        fd.reset(::socket(AF_UNIX, SOCK_DGRAM, 0));
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        path.copy(addr.sun_path, sizeof addr.sun_path - 1);
        REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        timeval tv{5, 0};  // a bounded wait, never a hang
        ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    ~listener() {
        ::unlink(path.c_str());
        ::rmdir(path.substr(0, path.rfind('/')).c_str());
    }
    std::string receive() {
        char buf[8192];
        ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
        REQUIRE(n > 0);
        return std::string(buf, static_cast<std::size_t>(n));
    }
};

}  // namespace

TEST_CASE("values that could forge a field or a line are quoted") {
    CHECK(capture::audit_quote("grant") == "grant");
    CHECK(capture::audit_quote("") == "\"\"");
    CHECK(capture::audit_quote("irc traffic") == "\"irc traffic\"");
    CHECK(capture::audit_quote("a\nfake=line \"x\"\\") == "\"a\\x0afake=line \\\"x\\\"\\\\\"");
}

namespace {

// What a log reader does to get a value back: the inverse of audit_quote.
std::string unquote(const std::string& quoted) {
    if (quoted.empty() || quoted.front() != '"') return quoted;
    std::string out;
    for (std::size_t i = 1; i + 1 < quoted.size(); ++i) {
        if (quoted[i] != '\\') {
            out += quoted[i];
        } else if (quoted[i + 1] == 'x') {
            out += static_cast<char>(std::stoi(quoted.substr(i + 2, 2), nullptr, 16));
            i += 3;
        } else {
            out += quoted[++i];
        }
    }
    return out;
}

bool valid_utf8_without_controls(const std::string& text) {
    for (std::size_t i = 0; i < text.size();) {
        std::size_t n = capture::utf8_sequence_length(std::string_view(text).substr(i));
        if (n == 0 || static_cast<unsigned char>(text[i]) < 0x20 || text[i] == 0x7f) return false;
        if (n == 2 && static_cast<unsigned char>(text[i]) == 0xc2 && static_cast<unsigned char>(text[i + 1]) < 0xa0)
            return false;
        i += n;
    }
    return true;
}

}  // namespace

TEST_CASE("any bytes are logged faithfully: reversible, valid UTF-8, no control characters") {
    using namespace std::string_literals;
    CHECK(capture::audit_quote("caf\xc3\xa9") == "\"caf\xc3\xa9\"");       // UTF-8 kept as it is
    CHECK(capture::audit_quote("\xff\xfe") == "\"\\xff\\xfe\"");            // not UTF-8: escaped
    CHECK(capture::audit_quote("a\xc2\x85" "b") == "\"a\\xc2\\x85b\"");     // C1 NEL: escaped
    CHECK(capture::audit_quote("\xed\xa0\x80") == "\"\\xed\\xa0\\x80\"");  // a surrogate is not UTF-8
    CHECK(capture::audit_quote("\xe2\x82\xac 5") == "\"\xe2\x82\xac 5\"");  // the euro sign
    std::string every_byte;
    for (int c = 0; c < 256; ++c) every_byte += static_cast<char>(c);
    std::mt19937 rng(7);
    std::vector<std::string> values = {every_byte, "$(rm -rf /); `id` | ../../etc/passwd\n-x"s, "\0\0"s,
                                       std::string(100000, 'd')};
    for (int n = 0; n < 500; ++n) {
        std::string v(rng() % 64, '\0');
        for (auto& c : v) c = static_cast<char>(rng() % 4 ? 0x80 + rng() % 0x80 : rng() % 0x80);
        values.push_back(v);
    }
    for (const auto& v : values) {
        std::string quoted = capture::audit_quote(v);
        CHECK(valid_utf8_without_controls(quoted));
        CHECK(unquote(quoted) == v);
    }
}

TEST_CASE("a very long value is cut, and says how much was left out") {
    CHECK(capture::audit_value(std::string(1024, 'd')) == std::string(1024, 'd'));
    CHECK(capture::audit_value(std::string(100000, 'd')) == "\"" + std::string(1024, 'd') + "\"+98976");
    // Never in the middle of a UTF-8 sequence: the euro sign at 1023..1025 goes whole to the rest.
    std::string euro = std::string(1023, 'e') + "\xe2\x82\xac" + std::string(10, 'e');
    CHECK(capture::audit_value(euro) == "\"" + std::string(1023, 'e') + "\"+13");
    capture::record details{{"desc", std::string(100000, 'x')}, {"file", "/nsm/x.pcap"}};
    std::string line = capture::audit_message("start", "ok", capture::actor{"root", "grant"}, details);
    CHECK(line.size() < 1200);
    CHECK_THAT(line, Catch::EndsWith("file=/nsm/x.pcap desc=\"" + std::string(1024, 'x') + "\"+98976"));
}

TEST_CASE("an audit line names the action, outcome and people") {
    capture::actor who{"root", "grant"};
    capture::record details{{"analyst", "grant"}, {"file", "/var/lib/capture/a b.pcap"}};
    CHECK(capture::audit_message("start", "ok", who, details) ==
          "action=start outcome=ok user=root sudo_user=grant analyst=grant file=\"/var/lib/capture/a b.pcap\"");
}

TEST_CASE("an audit line arrives at a real syslog socket in syslog's format") {
    listener syslogd;
    capture::audit_settings settings;
    settings.socket_path = syslogd.path;
    settings.facility = LOG_LOCAL3;
    capture::audit_log log(settings, "cap-test");
    auto failure = log.log("hash", "ok", capture::record{{"file", "/x.pcap"}});
    REQUIRE_FALSE(failure);
    std::string got = syslogd.receive();
    // <PRI> is facility | severity: local3 (19 << 3) | info (6) = 158.
    CHECK(got.rfind("<158>", 0) == 0);
    CHECK(got.find(" cap-test[") != std::string::npos);
    CHECK(got.find("]: action=hash outcome=ok user=") != std::string::npos);
    CHECK(got.find(" file=/x.pcap") != std::string::npos);
}

TEST_CASE("a missing syslog socket is reported, never silent; off is off") {
    capture::audit_settings settings;
    settings.socket_path = "/nonexistent/capture/log";
    capture::audit_log log(settings, "cap-test");
    auto failure = log.log("hash", "ok");
    REQUIRE(failure);
    CHECK(failure->find("/nonexistent/capture/log") != std::string::npos);
    CHECK(failure->find("not logged: action=hash") != std::string::npos);

    settings.enabled = false;
    capture::audit_log off(settings, "cap-test");
    CHECK_FALSE(off.log("hash", "ok"));
}

TEST_CASE("lines lost are counted: the first is news, the rest make one summary") {
    capture::audit_settings settings;
    settings.socket_path = "/nonexistent/capture/log";
    capture::audit_log log(settings, "cap-test");
    CHECK_FALSE(log.unlogged_summary());
    auto first = log.try_log("hash", "ok", capture::record{{"file", "/a.pcap"}});
    REQUIRE(first);
    CHECK(first->news);
    CHECK(first->text.find("not logged: action=hash outcome=ok") != std::string::npos);
    CHECK_FALSE(log.unlogged_summary());  // one line lost was said whole: nothing to add
    const capture::audit_log copy = log;  // copies keep one count, as the runner's context does
    for (int i = 0; i < 31; ++i) {
        auto later = copy.try_log("hash", "ok");
        REQUIRE(later);
        CHECK_FALSE(later->news);
    }
    CHECK(log.unlogged() == 32);
    REQUIRE(log.unlogged_summary());
    CHECK(*log.unlogged_summary() == "syslog: /nonexistent/capture/log: No such file or directory (32 audit lines not logged)");
}

TEST_CASE("a line lost for another reason is news again, and the summary says so") {
    char dir[] = "/tmp/capture-audit.XXXXXX";
    REQUIRE(::mkdtemp(dir) != nullptr);
    const std::string not_a_socket = std::string(dir) + "/log";
    capture::audit_settings settings;
    settings.socket_path = not_a_socket;
    capture::audit_log log(settings, "cap-test");
    REQUIRE(log.try_log("hash", "ok"));  // no such file
    REQUIRE(capture::unique_fd(::open(not_a_socket.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600)));  // a plain file: refused
    auto other = log.try_log("hash", "ok");
    REQUIRE(other);
    CHECK(other->news);
    CHECK(log.unlogged() == 2);
    REQUIRE(log.unlogged_summary());
    CHECK(log.unlogged_summary()->find("several reasons, said above (2 audit lines not logged)") != std::string::npos);
    ::unlink(not_a_socket.c_str());
    ::rmdir(dir);
}

TEST_CASE("audit-log lines lost are counted apart from syslog's, said once and summed") {
    capture::audit_settings settings;
    settings.enabled = false;  // syslog off: only the audit-log is asked
    settings.chain_path = "/nonexistent/capture/audit.log";
    capture::audit_log log(settings, "cap-test");
    auto first = log.log_chained("hash", "ok", capture::record{{"file", "/a.pcap"}});
    REQUIRE(first);
    CHECK(first->news);
    CHECK(first->text.rfind("audit-log: ", 0) == 0);
    CHECK(first->text.find("(not logged: action=hash outcome=ok") != std::string::npos);
    for (int i = 0; i < 4; ++i) {
        auto later = log.log_chained("hash", "ok", {});
        REQUIRE(later);
        CHECK_FALSE(later->news);
    }
    CHECK(log.unchained() == 5);
    CHECK(log.unlogged() == 0);
    CHECK_FALSE(log.unlogged_summary());
    REQUIRE(log.unchained_summary());
    CHECK(log.unchained_summary()->find("(5 audit lines not logged)") != std::string::npos);
}

TEST_CASE("facility names") {
    CHECK(capture::facility_from_name("local7") == LOG_LOCAL7);
    CHECK(capture::facility_from_name("authpriv") == LOG_AUTHPRIV);
    CHECK_THROWS_AS(capture::facility_from_name("kernel"), capture::usage_error);
}
