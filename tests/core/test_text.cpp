#include "../support/support.hpp"
#include "core/util/text.hpp"
#include "core/util/url.hpp"

#include <boost/test/unit_test.hpp>

using namespace pulse;

BOOST_AUTO_TEST_SUITE(text)

BOOST_AUTO_TEST_CASE(a_csv_record_splits_as_gos_encoding_csv) {
  struct Row {
    std::string text;
    std::vector<std::string> fields;  // empty with `bad`
    bool bad = false;
  };
  for (const auto& row : {
           Row{"", {}},
           Row{"a", {"a"}},
           Row{"a,b,c", {"a", "b", "c"}},
           Row{"a, b ,c", {"a", " b ", "c"}},  // nothing trimmed
           Row{"a,,b,", {"a", "", "b", ""}},
           Row{"\"a,b\",c", {"a,b", "c"}},
           Row{"\"say \"\"hi\"\"\",x", {"say \"hi\"", "x"}},
           Row{"\"\"", {""}},
           Row{"a\nb,c", {"a"}},  // the first record only
           Row{"a\r\nb", {"a"}},
           Row{"\"a\nb\",c", {"a\nb", "c"}},
           Row{"a\"b", {}, true},
           Row{"\"ab", {}, true},
           Row{"\"a\"b", {}, true},
       }) {
    BOOST_TEST_CONTEXT("[" << row.text << "]") {
      std::string why;
      const auto fields = split_csv_record(row.text, why);
      BOOST_TEST(fields.has_value() == !row.bad, why);
      if (fields) BOOST_TEST(*fields == row.fields, boost::test_tools::per_element());
      if (row.bad) BOOST_TEST(!why.empty());
    }
  }
}

BOOST_AUTO_TEST_CASE(lower_changes_ascii_letters_only) {
  BOOST_TEST(lower("Bearer ABC-xyz_09") == "bearer abc-xyz_09");
  BOOST_TEST(lower("\xC3\x84rger") == "\xC3\x84rger");  // Ä: not ASCII, left as it is
  BOOST_TEST(lower("") == "");
}

BOOST_AUTO_TEST_CASE(clean_text_is_utf8_without_controls) {
  for (const std::string ok : {"", "webapp", "caf\xC3\xA9", "\xE2\x82\xAC 5", "\xF0\x9F\x9A\x80", "a b/c:d"})
    BOOST_TEST(is_clean_text(ok), ok);
  const std::string bad[] = {std::string("a\0b", 3),
                             "tab\there",
                             "esc\x1B[31m",
                             "del\x7F",
                             "\xC2\x85",  // C0, ESC, DEL, C1 (NEL)
                             "\xC3",
                             "\xE2\x82",
                             "\xF0\x9F\x9A",  // cut sequences
                             "\xC0\xAF",
                             "\xE0\x80\xAF",  // overlong '/'
                             "\xED\xA0\x80",
                             "\xF4\x90\x80\x80",
                             "\xFF",
                             "\x80"};  // surrogate, > U+10FFFF, stray bytes
  for (const auto& b : bad) BOOST_TEST(!is_clean_text(b));
  BOOST_TEST(printable("ok caf\xC3\xA9") == "ok caf\xC3\xA9");
  BOOST_TEST(printable("a\x1B[2Jb\xFF") == "a\\x1b[2Jb\\xff");
  BOOST_TEST(printable(std::string("n\0l", 3)) == "n\\x00l");
}

BOOST_AUTO_TEST_CASE(lists_and_trimming) {
  BOOST_TEST(trim("  a b\t\r\n") == "a b");
  BOOST_TEST(trim(" \t ") == "");
  BOOST_TEST(split_list("a, b,,c ,") == (std::vector<std::string>{"a", "b", "c"}));
  BOOST_TEST(split_list("").empty());
  unsigned long n = 0;
  BOOST_TEST(parse_uint("8765", 65535, n));
  BOOST_TEST(n == 8765u);
  BOOST_TEST(!parse_uint("70000", 65535, n));
  BOOST_TEST(!parse_uint("", 10, n));
  BOOST_TEST(!parse_uint("12x", 100, n));
  BOOST_TEST(!parse_uint("-1", 100, n));
}

BOOST_AUTO_TEST_CASE(key_files) {
  test::TempDir dir;
  test::write_file(dir.path / "key", "s3cret\r\nsecond line\n");  // written on Windows
  BOOST_TEST(read_first_line(dir.str("key")).value() == "s3cret");
  test::write_file(dir.path / "tokens", "# team tokens\n\n  one \r\ntwo\n#three\n");
  BOOST_TEST(read_config_lines(dir.str("tokens")).value() == (std::vector<std::string>{"one", "two"}));
  BOOST_TEST(!read_first_line(dir.str("missing")).has_value());
  BOOST_TEST(!read_config_lines(dir.str("missing")).has_value());
}

BOOST_AUTO_TEST_CASE(loopback_hosts) {
  for (const char* h : {"127.0.0.1", "127.8.9.10", "::1", "localhost"}) BOOST_TEST(is_loopback_host(h), h);
  for (const char* h : {"0.0.0.0", "10.0.0.1", "example.com", "::", ""}) BOOST_TEST(!is_loopback_host(h), h);
}

BOOST_AUTO_TEST_SUITE_END()
