package io.mqttdynamo.web;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.UUID;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
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
 * the open page without a reload. Leaves a screenshot in {@code target/dashboard.png}.
 */
@QuarkusTest
@TestProfile(EmbeddedBrokerProfile.class)
class DashboardBrowserTest {

    private static final String CHROMIUM = System.getProperty("chromium.binary", "/usr/bin/chromium");
    private static final String CHROMEDRIVER = System.getProperty("chromedriver.binary", "/usr/bin/chromedriver");

    @TestHTTPResource("/")
    URL root;

    ChromeDriver browser;
    Path profile;

    @BeforeEach
    void openBrowser() throws Exception {
        Readiness.await();
        assertThat(Path.of(CHROMIUM)).as("Chromium (Debian package chromium)").exists();
        assertThat(Path.of(CHROMEDRIVER)).as("ChromeDriver (Debian package chromium-driver)").exists();
        profile = Files.createTempDirectory("mqtt-dynamo-chromium");
        ChromeOptions options = new ChromeOptions()
                .setBinary(CHROMIUM)
                .addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                        "--disable-background-networking", "--disable-component-update", "--disable-sync",
                        "--no-first-run", "--window-size=1400,1000", "--user-data-dir=" + profile);
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(Path.of(CHROMEDRIVER).toFile())
                .usingAnyFreePort()
                .build();
        browser = new ChromeDriver(service, options);
    }

    @AfterEach
    void closeBrowser() {
        if (browser != null) {
            browser.quit();
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
            wait.until(d -> d.findElement(By.cssSelector("[data-fragment=online]")).getText().contains(clientId));
            // The recent section lists the newest messages first, so the new one is there whatever else the
            // tables hold (the retained section shows the first rows of a scan, in key hash order).
            wait.until(d -> d.findElement(By.cssSelector("[data-fragment=recent]")).getText()
                    .contains("lights/" + run + "/kitchen"));
            wait.until(d -> d.findElement(By.cssSelector("[data-fragment=recent]")).getText()
                    .contains("{\"on\": true}"));
            assertThat(((JavascriptExecutor) browser).executeScript("return window.__sameDocument;"))
                    .as("updated in place, not reloaded").isEqualTo("yes");
            Path screenshot = Path.of("target", "dashboard.png");
            Files.write(screenshot, ((TakesScreenshot) browser).getScreenshotAs(OutputType.BYTES));
            assertThat(Files.size(screenshot)).isPositive();
        }
    }

    @Test
    void theRetainedPagesButtonRunsARestoreAndShowsItsCounts() {
        browser.get(root.toString() + "retained");
        WebDriverWait wait = new WebDriverWait(browser, Duration.ofSeconds(30));
        wait.ignoring(StaleElementReferenceException.class);
        wait.withMessage(() -> "on " + browser.getCurrentUrl() + ": " + browser.findElement(By.tagName("body")).getText());
        browser.findElement(By.cssSelector("[data-restore] button")).click();
        // Back on the page: the counts while it runs, the report once done.
        wait.until(d -> d.getCurrentUrl().endsWith("/retained"));
        wait.until(d -> d.findElement(By.id("restore-status")).getText().startsWith("Last restore,"));
        assertThat(browser.findElement(By.id("restore-status")).getText()).contains("on the broker")
                .contains("republished");
        assertThat(browser.findElement(By.cssSelector("[data-restore] button")).isEnabled()).isTrue();
    }
}
