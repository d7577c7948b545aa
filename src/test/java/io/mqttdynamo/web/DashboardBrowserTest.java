package io.mqttdynamo.web;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.UUID;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

import io.mqttdynamo.support.EmbeddedBrokerProfile;
import io.mqttdynamo.support.Readiness;
import io.mqttdynamo.support.TestMqttClient;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;

/**
 * A real browser (headless Chromium) on the dashboard: MQTT traffic published by the test shows up on
 * the open page without a reload; an idle service reads 0 messages/s; long topics and payloads stay on the
 * page. Leaves screenshots in {@code target/dashboard.png} and {@code target/dashboard-idle.png}.
 */
@QuarkusTest
@TestProfile(EmbeddedBrokerProfile.class)
class DashboardBrowserTest {

    private static final String CHROMIUM = System.getProperty("chromium.binary", "/usr/bin/chromium");
    private static final String CHROMEDRIVER = System.getProperty("chromedriver.binary", "/usr/bin/chromedriver");

    @TestHTTPResource("/")
    URL root;

    /** One browser for the class: starting Chromium costs seconds; each test opens its own page. */
    static ChromeDriver browser;

    static Path profile;

    @BeforeAll
    static void openBrowser() throws Exception {
        assertThat(Path.of(CHROMIUM)).as("Chromium (Debian package chromium)").exists();
        assertThat(Path.of(CHROMEDRIVER))
                .as("ChromeDriver (Debian package chromium-driver)")
                .exists();
        profile = Files.createTempDirectory("mqtt-dynamo-chromium");
        ChromeOptions options = new ChromeOptions()
                .setBinary(CHROMIUM)
                .addArguments(
                        "--headless",
                        "--no-sandbox",
                        "--disable-gpu",
                        "--disable-dev-shm-usage",
                        "--disable-background-networking",
                        "--disable-component-update",
                        "--disable-sync",
                        "--no-first-run",
                        "--window-size=1400,1000",
                        "--user-data-dir=" + profile);
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(Path.of(CHROMEDRIVER).toFile())
                .usingAnyFreePort()
                .build();
        browser = new ChromeDriver(service, options);
    }

    @BeforeEach
    void freshWindow() {
        Readiness.await();
        // A test may have narrowed the window.
        browser.manage().window().setSize(new Dimension(1400, 1000));
    }

    @AfterAll
    static void closeBrowser() {
        if (browser != null) {
            browser.quit();
            browser = null;
        }
    }

    @Test
    void anOnlineClientAndARetainedMessageAppearWithoutReloading() throws Exception {
        String run = UUID.randomUUID().toString().substring(0, 8);
        browser.get(root.toString());
        // Sections are swapped while we read them: a stale element just means "look again".
        WebDriverWait wait = new WebDriverWait(browser, Duration.ofSeconds(30));
        wait.ignoring(StaleElementReferenceException.class);
        wait.until(d -> d.findElement(By.cssSelector("[data-fragment=online]")).isDisplayed());
        // A marker that a reload would wipe out.
        ((JavascriptExecutor) browser).executeScript("window.__sameDocument = 'yes';");

        String clientId = "browser-" + run;
        try (TestMqttClient client = TestMqttClient.connect(clientId, EmbeddedBrokerProfile.brokerPort())) {
            client.publish("lights/" + run + "/kitchen", "{\"on\": true}", 1, true);
            wait.until(d -> d.findElement(By.cssSelector("[data-fragment=online]"))
                    .getText()
                    .contains(clientId));
            // The recent section lists the newest messages first, so the new one is there whatever else the
            // tables hold (the retained section shows the first rows of a scan, in key hash order).
            wait.until(d -> d.findElement(By.cssSelector("[data-fragment=recent]"))
                    .getText()
                    .contains("lights/" + run + "/kitchen"));
            wait.until(d -> d.findElement(By.cssSelector("[data-fragment=recent]"))
                    .getText()
                    .contains("{\"on\": true}"));
            assertThat(((JavascriptExecutor) browser).executeScript("return window.__sameDocument;"))
                    .as("updated in place, not reloaded")
                    .isEqualTo("yes");
            Path screenshot = Path.of("target", "dashboard.png");
            Files.write(screenshot, ((TakesScreenshot) browser).getScreenshotAs(OutputType.BYTES));
            assertThat(Files.size(screenshot)).isPositive();
        }
    }

    @Test
    void anIdleDashboardReadsZeroMessagesPerSecondAndKeepsLongTopicsOnThePage() throws Exception {
        String run = UUID.randomUUID().toString().substring(0, 8);
        String longTopic = "long/" + run + "/" + "t".repeat(990);
        String refusedTopic = "refused/" + run + "/" + "r".repeat(2100);
        try (TestMqttClient client = TestMqttClient.connect("layout-" + run, EmbeddedBrokerProfile.brokerPort())) {
            client.publish(longTopic, "p".repeat(500), 1, true);
            // Over DynamoDB's 2,048-byte key limit: its topic-map and retained writes are refused.
            client.publish(refusedTopic, "refused", 1, true);
        }
        await().atMost(Duration.ofSeconds(60))
                .until(() -> given().queryParam("topic", longTopic)
                                .get("/api/messages")
                                .jsonPath()
                                .getList("recent")
                                .size()
                        == 1);
        browser.get(root.toString());
        WebDriverWait wait = new WebDriverWait(browser, Duration.ofSeconds(60));
        wait.ignoring(StaleElementReferenceException.class);
        wait.until(d -> d.findElement(By.cssSelector("[data-fragment=recent]"))
                .getText()
                .contains(longTopic));
        wait.until(d -> d.findElement(By.id("refused-last")).getText().contains("KeyLimit"));
        assertThat(Long.parseLong(browser.findElement(By.id("refused-count")).getText()))
                .isPositive();
        try (TestMqttClient client = TestMqttClient.connect("layout-" + run, EmbeddedBrokerProfile.brokerPort())) {
            // The broker forgets it again: the retained comparison of the other tests cannot look such a topic up.
            client.publish(refusedTopic, new byte[0], 1, true);
        }
        // Nothing published for 10 s: the rate is the users' messages only, not the service's own figures
        // which every replica publishes every 2 s.
        wait.withMessage(() -> "messages/s: "
                        + browser.findElement(By.id("messages-per-second")).getText())
                .until(d ->
                        d.findElement(By.id("messages-per-second")).getText().equals("0.0"));
        assertThat(browser.findElement(By.cssSelector(".y-axis.rate")).getText())
                .contains("0");
        assertThat(browser.findElement(By.cssSelector(".x-axis")).getText())
                .contains("−5 min")
                .contains("now");
        Files.write(
                Path.of("target", "dashboard-idle.png"), ((TakesScreenshot) browser).getScreenshotAs(OutputType.BYTES));

        JavascriptExecutor js = browser;
        Number overview = (Number) js.executeScript(
                "return document.querySelector('[data-fragment=overview]').getBoundingClientRect().width;");
        Number health =
                (Number) js.executeScript("return document.getElementById('health').getBoundingClientRect().width;");
        assertThat(health.doubleValue())
                .as("the health card spans the overview")
                .isGreaterThan(0.95 * overview.doubleValue());
        String[] pages = {
            "",
            "retained?filter=" + Formats.url("long/" + run + "/#"),
            "topic?topic=" + Formats.url(longTopic),
            "retained/message?topic=" + Formats.url(longTopic)
        };
        for (int width : new int[] {1400, 700}) {
            browser.manage().window().setSize(new Dimension(width, 1000));
            for (String page : pages) {
                browser.get(root.toString() + page);
                wait.until(d -> d.findElement(By.tagName("body")).getText().contains(longTopic.substring(0, 40)));
                Number scrollWidth = (Number) js.executeScript("return document.documentElement.scrollWidth;");
                Number viewport = (Number) js.executeScript("return document.documentElement.clientWidth;");
                assertThat(scrollWidth.intValue())
                        .as("no sideways scrolling on /%s at %d px", page, width)
                        .isLessThanOrEqualTo(viewport.intValue());
            }
        }
    }

    @Test
    void theRetainedPagesButtonRunsARestoreAndShowsItsCounts() {
        browser.get(root.toString() + "retained");
        WebDriverWait wait = new WebDriverWait(browser, Duration.ofSeconds(30));
        wait.ignoring(StaleElementReferenceException.class);
        wait.withMessage(() -> "on " + browser.getCurrentUrl() + ": "
                + browser.findElement(By.tagName("body")).getText());
        browser.findElement(By.cssSelector("[data-restore] button")).click();
        // Back on the page: the counts while it runs, the report once done.
        wait.until(d -> d.getCurrentUrl().endsWith("/retained"));
        wait.until(d -> d.findElement(By.id("restore-status")).getText().startsWith("Last restore,"));
        assertThat(browser.findElement(By.id("restore-status")).getText())
                .contains("on the broker")
                .contains("republished");
        assertThat(browser.findElement(By.cssSelector("[data-restore] button")).isEnabled())
                .isTrue();
    }
}
