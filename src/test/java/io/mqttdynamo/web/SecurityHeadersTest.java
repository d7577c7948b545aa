package io.mqttdynamo.web;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.equalTo;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

import io.mqttdynamo.support.EmbeddedBrokerProfile;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.response.Response;

/**
 * Every page, fragment, API answer and static file carries the security headers, and no page holds
 * inline script or inline event handlers (which the Content-Security-Policy would block). Without a
 * password the loopback caller (this test) is answered.
 */
@QuarkusTest
@TestProfile(EmbeddedBrokerProfile.class)
class SecurityHeadersTest {

    private static final List<String> PAGES = List.of(
            "/",
            "/clients?online=true",
            "/subscriptions",
            "/retained",
            "/topic?topic=a/b",
            "/fragments/overview",
            "/fragments/recent");
    private static final Pattern SCRIPT = Pattern.compile("<script\\b([^>]*)>", Pattern.CASE_INSENSITIVE);
    private static final Pattern HANDLER = Pattern.compile("\\son[a-z]+\\s*=", Pattern.CASE_INSENSITIVE);

    @Test
    void everyAnswerCarriesTheSecurityHeaders() {
        for (String path : Stream.concat(
                        PAGES.stream(),
                        Stream.of(
                                "/api/stats",
                                "/api/clients",
                                "/dashboard.js",
                                "/dashboard.css",
                                "/no-such-page",
                                "/api/clients?limit=0"))
                .toList()) {
            Response response = given().get(path);
            assertThat(response.statusCode()).as(path).isIn(200, 400, 404);
            assertThat(response.header("Content-Security-Policy"))
                    .as(path)
                    .isEqualTo(WebGuard.CONTENT_SECURITY_POLICY)
                    .contains("frame-ancestors 'none'")
                    .contains("script-src 'self'")
                    .doesNotContain("unsafe-inline");
            assertThat(response.header("X-Content-Type-Options")).as(path).isEqualTo("nosniff");
            assertThat(response.header("Referrer-Policy")).as(path).isEqualTo("no-referrer");
            assertThat(response.header("X-Frame-Options")).as(path).isEqualTo("DENY");
        }
        given().get("/q/health/live").then().statusCode(200).header("X-Content-Type-Options", equalTo("nosniff"));
    }

    @Test
    void pagesHoldNoInlineScript() throws IOException {
        for (String path : PAGES) {
            String html = given().get(path).then().statusCode(200).extract().asString();
            assertNoInlineScript(path, html);
        }
        // The templates themselves, so that a page not visited above cannot bring one in either.
        try (Stream<Path> templates = Files.walk(Path.of("src/main/resources/templates"))) {
            for (Path template : templates.filter(Files::isRegularFile).toList()) {
                assertNoInlineScript(template.toString(), Files.readString(template));
            }
        }
    }

    private static void assertNoInlineScript(String where, String html) {
        Matcher script = SCRIPT.matcher(html);
        while (script.find()) {
            assertThat(script.group(1))
                    .as(where + ": a script element loads a file")
                    .contains("src=");
            int end = html.indexOf("</script>", script.end());
            assertThat(html.substring(script.end(), end).trim())
                    .as(where + ": script body")
                    .isEmpty();
        }
        assertThat(HANDLER.matcher(html).find())
                .as(where + ": inline event handler")
                .isFalse();
        assertThat(html).as(where).doesNotContainIgnoringCase("javascript:").doesNotContain("style=\"");
    }
}
