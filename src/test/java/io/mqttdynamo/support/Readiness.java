package io.mqttdynamo.support;

import static io.restassured.RestAssured.given;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;

import org.awaitility.Awaitility;
import org.awaitility.core.ConditionTimeoutException;

/** Waits until the application under test is ready: broker sessions subscribed, tables active. */
public final class Readiness {

    private Readiness() {
    }

    public static void await() {
        AtomicReference<String> last = new AtomicReference<>();
        try {
            Awaitility.await("application ready (/q/health/ready)")
                    .atMost(Duration.ofSeconds(Long.getLong("io.mqttdynamo.test.ready-seconds", 60)))
                    .pollInterval(Duration.ofMillis(200))
                    .until(() -> {
                        var response = given().get("/q/health/ready");
                        last.set(response.asString());
                        return response.statusCode() == 200;
                    });
        } catch (ConditionTimeoutException e) {
            throw new AssertionError("not ready within 60 s; /q/health/ready said: " + last.get(), e);
        }
    }
}
