// Tables for a person: a header, aligned columns, safe cells.
#include "capture/text/table.hpp"

#include <catch2/catch.hpp>

#include <sstream>

TEST_CASE("a table: the header, then the rows, each column as wide as its widest cell") {
    std::ostringstream out;
    capture::write_table(out, {"ID", "ANALYST", "DESCRIPTION"}, {{"abc123", "grant", "irc traffic"}, {"x", "carolyn", ""}});
    CHECK(out.str() == "ID      ANALYST  DESCRIPTION\n"
                       "abc123  grant    irc traffic\n"
                       "x       carolyn\n");
}

TEST_CASE("no rows, no header") {
    std::ostringstream out;
    capture::write_table(out, {"ID"}, {});
    CHECK(out.str().empty());
}

TEST_CASE("cells are measured as shown: escapes, tabs and UTF-8") {
    std::ostringstream out;
    capture::write_table(out, {"A", "B"}, {{"\x1b[2J", "1"}, {"caf\xc3\xa9", "2"}, {"a\tb", "3"}});
    CHECK(out.str() == "A        B\n"
                       "\\x1b[2J  1\n"
                       "caf\xc3\xa9     2\n"
                       "a b      3\n");
    CHECK(capture::display_width("caf\xc3\xa9") == 4);
}

TEST_CASE("with a terminal's width, the last column is cut so no line wraps") {
    std::ostringstream out;
    capture::write_table(out, {"ID", "DESCRIPTION"}, {{"abc", std::string(100, 'x')}}, 30);
    CHECK(out.str() == "ID   DESCRIPTION\n"
                       "abc  " + std::string(21, 'x') + "...\n");
}
