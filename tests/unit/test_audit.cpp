// The audit line reaches a real syslog socket, and a failure to deliver
// it is reported instead of being lost.
#include "capture/audit.hpp"

#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <sys/un.h>

#include <cstdlib>
#include <string>

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

TEST_CASE("facility names") {
    CHECK(capture::facility_from_name("local7") == LOG_LOCAL7);
    CHECK(capture::facility_from_name("authpriv") == LOG_AUTHPRIV);
    CHECK_THROWS_AS(capture::facility_from_name("kernel"), capture::usage_error);
}
