package io.mqttdynamo.support;

import static io.restassured.RestAssured.given;

import java.time.Duration;

import org.awaitility.Awaitility;

/** Waits until the application under test is ready: broker sessions subscribed, tables active. */
public final class Readiness {

    private Readiness() {
    }

    public static void await() {
        Awaitility.await("application ready (/q/health/ready)")
                .atMost(Duration.ofSeconds(60))
                .pollInterval(Duration.ofMillis(200))
                .until(() -> given().get("/q/health/ready").statusCode() == 200);
    }
}
