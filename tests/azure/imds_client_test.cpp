// The IMDS client against the IMDS fake over loopback: headers, versions, approvals, errors.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>

#include "fakes/imds_fake.h"
#include "opsrun/azure/imds_client.h"

namespace opsrun::azure {
namespace {

using testing::ImdsFake;

ImdsOptions fast(const std::string& url) {
  ImdsOptions o;
  o.base_url = url;
  o.first_call_timeout = Millis(3000);
  o.timeout = Millis(300);
  return o;
}

TEST(AzureImdsClient, ReadsEventsWithMetadataHeaderAndNoProxy) {
  ::setenv("http_proxy", "http://127.0.0.1:9", 1);  // would break the call if honoured
  ::setenv("HTTP_PROXY", "http://127.0.0.1:9", 1);
  ImdsFake fake;
  fake.set_events(
      JsonArray{ImdsFake::event("E1", "Reboot", {"vm-test-0"}, "Mon, 19 Sep 2016 18:29:47 GMT")});
  ImdsClient client(fast(fake.url() + "/"));
  auto doc = client.scheduled_events();
  ::unsetenv("http_proxy");
  ::unsetenv("HTTP_PROXY");
  ASSERT_TRUE(doc) << doc.error().describe();
  EXPECT_EQ(doc->incarnation, fake.incarnation());
  ASSERT_EQ(doc->events.size(), 1u);
  EXPECT_EQ(doc->events[0].id, "E1");
  const auto req = fake.requests().back();
  EXPECT_EQ(req.header("Metadata"), "true");
  EXPECT_EQ(req.target, "/metadata/scheduledevents?api-version=2020-07-01");
}

TEST(AzureImdsClient, FirstCallMayBeSlowLaterCallsMayNot) {
  ImdsFake fake(ImdsFake::Options{.first_call_delay = Millis(800)});
  ImdsClient client(fast(fake.url()));
  EXPECT_TRUE(client.scheduled_events());  // 800 ms within the long first-call timeout
  fake.hang(Millis(800));
  auto second = client.scheduled_events();  // 300 ms timeout now
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, ErrorCode::Unavailable);
  fake.hang(Millis(0));
}

TEST(AzureImdsClient, AcknowledgesWithStartRequests) {
  ImdsFake fake;
  fake.set_events(
      JsonArray{ImdsFake::event("E1", "Reboot", {"vm-test-0"}, "Mon, 19 Sep 2016 18:29:47 GMT"),
                ImdsFake::event("E2", "Freeze", {"vm-test-0"}, "Mon, 19 Sep 2016 18:29:47 GMT")});
  ImdsClient client(fast(fake.url()));
  ASSERT_TRUE(client.acknowledge({"E1", "E2"}));
  EXPECT_EQ(fake.acknowledged(), (std::vector<std::string>{"E1", "E2"}));
  auto body = parse_json(fake.requests().back().body);
  ASSERT_TRUE(body);
  EXPECT_EQ(to_json_text(*body), R"({"StartRequests":[{"EventId":"E1"},{"EventId":"E2"}]})");
  auto doc = client.scheduled_events();
  ASSERT_TRUE(doc);
  EXPECT_EQ(doc->events[0].status, EventStatus::Started);
}

TEST(AzureImdsClient, VmNameAsText) {
  ImdsFake fake(ImdsFake::Options{.vm_name = "web-7"});
  ImdsClient client(fast(fake.url()));
  auto name = client.vm_name();
  ASSERT_TRUE(name) << name.error().describe();
  EXPECT_EQ(*name, "web-7");
  EXPECT_NE(fake.requests().back().target.find("format=text"), std::string::npos);
}

TEST(AzureImdsClient, ErrorsCarryTheStatus) {
  ImdsFake fake;
  fake.fail_with(410);
  ImdsClient client(fast(fake.url()));
  auto doc = client.scheduled_events();
  ASSERT_FALSE(doc);
  EXPECT_EQ(doc.error().code, ErrorCode::Unavailable);
  EXPECT_NE(doc.error().message.find("HTTP 410"), std::string::npos) << doc.error().message;
}

TEST(AzureImdsClient, NothingListening) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);  // the port is now free: connections are refused
  ImdsClient client(fast("http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port))));
  auto doc = client.scheduled_events();
  ASSERT_FALSE(doc);
  EXPECT_EQ(doc.error().code, ErrorCode::Unavailable);
  EXPECT_NE(doc.error().message.find("IMDS unreachable"), std::string::npos);
}

}  // namespace
}  // namespace opsrun::azure
