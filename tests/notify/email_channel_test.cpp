// The email channel end to end through libcurl against a loopback SMTP fake: an RFC 5322
// message, AUTH PLAIN, transient (4xx) replies retried, permanent ones and refused logins
// not, STARTTLS required by default, and the password never shown.
#include <gtest/gtest.h>

#include "fakes/smtp_fake.h"
#include "notify/channel_fixture.h"
#include "support/clock_driver.h"

namespace opsrun::testing {
namespace {

using notify::Severity;

std::string mail_yaml(const SmtpFake& smtp, const std::string& password = "smtp-pass-0001",
                      const std::string& tls = "none") {
  return "  mail:\n    type: email\n    url: " + smtp.url() + "\n    tls: " + tls +
         "\n    username: opsrun\n    password: " + password +
         "\n    from: opsrun@example.org\n    to: [oncall@example.org, lead@example.org]\n";
}

std::string header(const std::string& data, const std::string& name) {
  const auto at = data.find("\r\n" + name + ": ");
  if (at == std::string::npos)
    return data.starts_with(name + ": ")
               ? data.substr(name.size() + 2, data.find("\r\n") - name.size() - 2)
               : "";
  const auto start = at + 2 + name.size() + 2;
  return data.substr(start, data.find("\r\n", start) - start);
}

TEST(EmailChannel, SendsAnRfc5322MessageAfterAuthenticating) {
  SmtpFake smtp("opsrun", "smtp-pass-0001");
  FakeClock clock;
  auto ch = channel_from_yaml(mail_yaml(smtp), clock);
  ASSERT_TRUE(ch);
  auto sent = ch->deliver(alert("disk full on web01\nfree 2%", Severity::P1));
  ASSERT_TRUE(sent) << sent.error().describe();
  const auto mails = smtp.mails();
  ASSERT_EQ(mails.size(), 1u);
  const auto& m = mails[0];
  EXPECT_EQ(m.user, "opsrun");
  EXPECT_EQ(m.from, "opsrun@example.org");
  EXPECT_EQ(m.to, (std::vector<std::string>{"oncall@example.org", "lead@example.org"}));
  EXPECT_EQ(header(m.data, "From"), "opsrun@example.org");
  EXPECT_EQ(header(m.data, "To"), "oncall@example.org, lead@example.org");
  EXPECT_EQ(header(m.data, "Subject"), "[opsrun] [P1] disk full on web01");
  EXPECT_EQ(header(m.data, "Content-Type"), "text/plain; charset=UTF-8");
  EXPECT_EQ(header(m.data, "MIME-Version"), "1.0");
  EXPECT_TRUE(header(m.data, "Date").ends_with("+0000")) << header(m.data, "Date");
  EXPECT_EQ(header(m.data, "Message-ID"), sent->at("message_id").as_string());
  EXPECT_TRUE(header(m.data, "Message-ID").ends_with("@example.org>"));
  const std::string body = m.data.substr(m.data.find("\r\n\r\n") + 4);
  EXPECT_NE(body.find("disk full on web01\r\nfree 2%\r\n"), std::string::npos) << body;
  EXPECT_NE(body.find("execution exec-42"), std::string::npos) << body;
}

TEST(EmailChannel, NonAsciiSubjectIsEncodedAndADotLineSurvives) {
  SmtpFake smtp("opsrun", "smtp-pass-0001");
  FakeClock clock;
  auto ch = channel_from_yaml(mail_yaml(smtp), clock);
  ASSERT_TRUE(ch->deliver(alert("Störung – Festplatte voll\n.\nend", Severity::P0)));
  ASSERT_EQ(smtp.mails().size(), 1u);
  const std::string data = smtp.mails()[0].data;
  EXPECT_TRUE(header(data, "Subject").starts_with("=?UTF-8?B?")) << header(data, "Subject");
  EXPECT_NE(data.find("\r\n.\r\nend\r\n"),
            std::string::npos);  // dot-stuffed by libcurl, unstuffed by the server
}

TEST(EmailChannel, ATransientReplyIsRetriedAPermanentOneIsNot) {
  SmtpFake smtp("opsrun", "smtp-pass-0001");
  FakeClock clock;
  ClockDriver driver(clock);
  auto ch = channel_from_yaml(mail_yaml(smtp), clock);
  smtp.fail_next("451 4.3.0 try again later");
  auto sent = ch->deliver(alert("x"));
  ASSERT_TRUE(sent) << sent.error().describe();
  EXPECT_EQ(smtp.connections(), 2);
  EXPECT_EQ(smtp.mails().size(), 1u);

  smtp.fail_next("550 5.7.1 relaying denied");
  auto refused = ch->deliver(alert("y"));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::InvalidArgument);
  EXPECT_NE(refused.error().message.find("550"), std::string::npos) << refused.error().message;
  EXPECT_EQ(smtp.connections(), 3);
}

TEST(EmailChannel, ARefusedLoginFailsAtOnceWithoutShowingThePassword) {
  SmtpFake smtp("opsrun", "smtp-pass-0001");
  FakeClock clock;
  auto ch = channel_from_yaml(mail_yaml(smtp, "wrong-smtp-secret"), clock);
  const Error sent = failure_hiding(*ch, alert("x"), "wrong-smtp-secret");
  EXPECT_EQ(sent.code, ErrorCode::PermissionDenied) << sent.describe();
  EXPECT_EQ(smtp.connections(), 1);
  EXPECT_TRUE(smtp.mails().empty());
}

std::string tls_yaml(const SmtpFake& smtp, bool trust) {
  return "  mail:\n    type: email\n    url: " + smtp.url() +
         "\n    username: opsrun\n    password: smtp-pass-0001\n" +
         (trust ? "    ca_file: " + smtp.ca_file() + "\n" : "") +
         "    from: opsrun@example.org\n    to: oncall@example.org\n";
}

TEST(EmailChannel, StartTlsByDefaultWithTheServersCa) {
  SmtpFake smtp("opsrun", "smtp-pass-0001", SmtpFake::Tls::StartTls);
  FakeClock clock;
  auto ch = channel_from_yaml(tls_yaml(smtp, true), clock);
  auto sent = ch->deliver(alert("over TLS"));
  ASSERT_TRUE(sent) << sent.error().describe();
  ASSERT_EQ(smtp.mails().size(), 1u);
  EXPECT_TRUE(smtp.mails()[0].tls);
  EXPECT_EQ(smtp.mails()[0].user, "opsrun");
}

TEST(EmailChannel, SmtpsWithTheServersCa) {
  SmtpFake smtp("opsrun", "smtp-pass-0001", SmtpFake::Tls::Implicit);
  FakeClock clock;
  auto ch = channel_from_yaml(tls_yaml(smtp, true), clock);
  auto sent = ch->deliver(alert("over SMTPS"));
  ASSERT_TRUE(sent) << sent.error().describe();
  ASSERT_EQ(smtp.mails().size(), 1u);
  EXPECT_TRUE(smtp.mails()[0].tls);
}

TEST(EmailChannel, AnUntrustedCertificateIsFinal) {
  SmtpFake smtp("opsrun", "smtp-pass-0001", SmtpFake::Tls::StartTls);
  FakeClock clock;
  auto ch = channel_from_yaml(tls_yaml(smtp, false), clock);
  auto sent = ch->deliver(alert("x"));
  ASSERT_FALSE(sent);
  EXPECT_EQ(smtp.connections(), 1);  // not retried
  EXPECT_TRUE(smtp.mails().empty());
}

TEST(EmailChannel, RequiredTlsIsNotSilentlyDropped) {
  SmtpFake smtp("opsrun", "smtp-pass-0001");  // offers no STARTTLS
  FakeClock clock;
  auto ch = channel_from_yaml(mail_yaml(smtp, "smtp-pass-0001", "required"), clock);
  auto sent = ch->deliver(alert("x"));
  ASSERT_FALSE(sent);
  EXPECT_EQ(smtp.connections(), 1);
  EXPECT_TRUE(smtp.mails().empty());
}

}  // namespace
}  // namespace opsrun::testing
