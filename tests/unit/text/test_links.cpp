// Suggested alternate resources: what an expression names, templates and
// their placeholders, the links made for a record.
#include "capture/text/links.hpp"

#include <catch2/catch.hpp>

#include <sstream>

using capture::expression_terms;
using capture::link_template;
using capture::scan_expression;
using strings = std::vector<std::string>;

TEST_CASE("hosts, nets and ports are found in the primitives that name them") {
    auto t = scan_expression("host 10.0.0.7 and (tcp dst port 443 or udp port 53) and not src net 192.168.0.0/16");
    CHECK(t.hosts == strings{"10.0.0.7"});
    CHECK(t.ports == strings{"443", "53"});
    CHECK(t.nets == strings{"192.168.0.0/16"});

    t = scan_expression("src or dst host grantstavely.com && portrange 6000-6010");
    CHECK(t.hosts == strings{"grantstavely.com"});
    CHECK(t.ports == strings{"6000-6010"});

    t = scan_expression("ip6 host 2001:db8::1 || net 10.0.0.0 mask 255.255.0.0 or net 172.16");
    CHECK(t.hosts == strings{"2001:db8::1"});
    CHECK(t.nets == strings{"10.0.0.0/16", "172.16"});
}

TEST_CASE("bare addresses are hosts, bare prefixes nets, and repeats are dropped") {
    auto t = scan_expression("dst 203.0.113.9 or 2001:db8::/32 or (203.0.113.9 and !10.1.2.3)");
    CHECK(t.hosts == strings{"203.0.113.9", "10.1.2.3"});
    CHECK(t.nets == strings{"2001:db8::/32"});
    CHECK(t.ports.empty());
}

TEST_CASE("an id after and/or takes the qualifiers before it, as libpcap reads it") {
    auto t = scan_expression("host 10.0.0.1 or 10.0.0.2 or server.example");
    CHECK(t.hosts == strings{"10.0.0.1", "10.0.0.2", "server.example"});
    t = scan_expression("port 53 or 80 and not 8080");
    CHECK(t.ports == strings{"53", "80", "8080"});
    // A keyword or arithmetic after the connective is not an id.
    t = scan_expression("port 53 and len > 100 and tcp[13] & 2 != 0");
    CHECK(t.ports == strings{"53"});
    CHECK(t.hosts.empty());
    t = scan_expression("host 10.0.0.1 and vlan 100");
    CHECK(t.hosts == strings{"10.0.0.1"});
    CHECK(t.ports.empty());
}

TEST_CASE("what is not an IP host or port adds nothing") {
    auto t = scan_expression("ether host 00:11:22:33:44:55 or gateway router or ip proto 6 or decnet host 10.23");
    CHECK(t.hosts.empty());
    CHECK(t.nets.empty());
    CHECK(t.ports.empty());
    CHECK(scan_expression("").hosts.empty());
    CHECK(scan_expression("host").hosts.empty());  // no id: nothing, and no crash
    CHECK(scan_expression("host and port").hosts.empty());
}

TEST_CASE("templates are NAME=URL with known placeholders and no blanks") {
    link_template t = capture::parse_link_template("pdns=https://pdns.example/search?q={host}&from={start_epoch}");
    CHECK(t.name == "pdns");
    CHECK(t.url == "https://pdns.example/search?q={host}&from={start_epoch}");
    CHECK(capture::parse_link_template("ticket=https://tickets.example/new").url == "https://tickets.example/new");
    CHECK_THROWS_WITH(capture::parse_link_template("https://x.example/{host}"), Catch::Contains("not NAME=URL"));
    CHECK_THROWS_WITH(capture::parse_link_template("=https://x"), Catch::Contains("not NAME=URL"));
    CHECK_THROWS_WITH(capture::parse_link_template("my ids=https://x"), Catch::Contains("link name 'my ids'"));
    CHECK(capture::parse_link_template("ids = https://x/{host}").name == "ids");
    CHECK(capture::parse_link_template("ids\t= https://x/{host}").url == "https://x/{host}");
    CHECK_THROWS_WITH(capture::parse_link_template(" = https://x"), Catch::Contains("not NAME=URL"));
    CHECK_THROWS_WITH(capture::parse_link_template("ids="), Catch::Contains("no URL"));
    CHECK_THROWS_WITH(capture::parse_link_template("ids=https://x/?q={hots}"), Catch::Contains("unknown placeholder {hots}"));
    CHECK_THROWS_WITH(capture::parse_link_template("ids=https://x/?q={host"), Catch::Contains("'{' without '}'"));
    CHECK_THROWS_WITH(capture::parse_link_template("ids=https://x/?q=host}"), Catch::Contains("'}' without '{'"));
    CHECK_THROWS_WITH(capture::parse_link_template("ids=https://x/?q= {host}"), Catch::Contains("blank"));
}

TEST_CASE("a template is expanded for every value of what it uses, encoded") {
    std::vector<link_template> templates{
        capture::parse_link_template("ids=https://ids.example/{hash}/hunt?q={host}:{port}"),
        capture::parse_link_template("net=https://ipam.example/{net}"),
        capture::parse_link_template("window=https://arkime.example/?start={start_epoch}&stop={end_epoch}&t={start}"),
        capture::parse_link_template("ticket=https://tickets.example/new"),
    };
    expression_terms terms{{"10.0.0.7", "2001:db8::1"}, {}, {"53"}};
    auto links = capture::expand_links(templates, terms, {1700000000, 1700003600});
    REQUIRE(links.size() == 4);
    CHECK(links[0].name == "ids");
    CHECK(links[0].url == "https://ids.example/#/hunt?q=10.0.0.7:53");
    CHECK(links[1].url == "https://ids.example/#/hunt?q=2001%3Adb8%3A%3A1:53");
    // No net in the expression: the ipam template makes nothing.
    CHECK(links[2].name == "window");
    CHECK(links[2].url == "https://arkime.example/?start=1700000000&stop=1700003600&t=2023-11-14T22%3A13%3A20Z");
    CHECK(links[3].url == "https://tickets.example/new");

    // Times unknown: the templates that need them make nothing.
    CHECK(capture::expand_links({templates[2]}, terms, {}).empty());

    // A long expression cannot flood the block.
    expression_terms many;
    for (int i = 0; i < 10; ++i) {
        many.hosts.push_back("10.0.0." + std::to_string(i));
        many.ports.push_back(std::to_string(1000 + i));
    }
    CHECK(capture::expand_links({templates[0]}, many, {}).size() == capture::max_links_per_template);
}

TEST_CASE("a record's links use its expression and its times") {
    std::vector<link_template> templates{capture::parse_link_template("ids=https://ids.example/?q={host}&from={start}&to={end}")};
    capture::record live{{"kind", "live"}, {"state", "running"}, {"expr", "host 10.0.0.7"},
                         {"started", "2026-11-25T08:00:00Z"}};
    auto links = capture::links_for_record(templates, live, 1795600000);
    REQUIRE(links.size() == 1);
    // Still running: it ends now.
    CHECK(links[0].url == "https://ids.example/?q=10.0.0.7&from=2026-11-25T08%3A00%3A00Z&to=2026-11-25T09%3A46%3A40Z");

    capture::record pull{{"kind", "pull"}, {"state", "done"}, {"expr", "host 10.0.0.7"},
                         {"since", "2026-11-25T00:00:00Z"}, {"until", "2026-11-25T06:00:00Z"},
                         {"started", "2026-11-25T08:00:00Z"}, {"ended", "2026-11-25T08:01:00Z"}};
    links = capture::links_for_record(templates, pull, 0);
    REQUIRE(links.size() == 1);
    CHECK(links[0].url == "https://ids.example/?q=10.0.0.7&from=2026-11-25T00%3A00%3A00Z&to=2026-11-25T06%3A00%3A00Z");

    capture::record no_expr{{"file", "/nsm/x.pcap"}};
    CHECK(capture::links_for_record(templates, no_expr, 0).empty());

    capture::record r = live;
    capture::set_links(r, {{"ids", "https://a"}, {"pdns", "https://b?x=1"}});
    CHECK(r.get("links") == "ids=https://a pdns=https://b?x=1");
    capture::set_links(r, {});
    CHECK_FALSE(r.has("links"));
}

TEST_CASE("the links block for a person") {
    std::ostringstream out;
    capture::write_links_human(out, {{"ids", "https://a"}, {"pdns", "https://b"}}, "  ");
    CHECK(out.str() == "  Links:\n    ids: https://a\n    pdns: https://b\n");
    std::ostringstream none;
    capture::write_links_human(none, {});
    CHECK(none.str().empty());
}
