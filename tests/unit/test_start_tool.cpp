// cap-start's pure parts: descriptions made from expressions.
#include "capture/start_tool.hpp"

#include <catch2/catch.hpp>

TEST_CASE("a description made from the expression is readable") {
    CHECK(capture::description_from_expression("udp and dst port 53") == "traffic: udp and dst port 53");
    CHECK(capture::description_from_expression("  host\t10.0.0.1 \n") == "traffic: host 10.0.0.1");
    CHECK(capture::description_from_expression("") == "capture");
    CHECK(capture::description_from_expression(std::string(200, 'x')).size() == 9 + 60);
}

TEST_CASE("words are joined by single spaces") {
    CHECK(capture::join_words({"grant", "port", "6667"}, 1) == "port 6667");
    CHECK(capture::join_words({"grant"}, 1).empty());
}
