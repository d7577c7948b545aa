package io.mqttdynamo.web;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.anyOf;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.nullValue;

import org.junit.jupiter.api.Test;

import io.mqttdynamo.support.EmbeddedMqtt311Profile;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;

/** With login on, the dashboard and the API want the user's credentials; probes and metrics do not. */
@QuarkusTest
@TestProfile(EmbeddedMqtt311Profile.class)
class DashboardAuthTest {

    @Test
    void dashboardAndApiNeedTheCredentials() {
        given().get("/")
                .then()
                .statusCode(401)
                .header("WWW-Authenticate", "Basic realm=\"mqtt-dynamo\", charset=\"UTF-8\"");
        given().get("/api/clients").then().statusCode(401);
        given().get("/fragments/online").then().statusCode(401);
        given().auth()
                .preemptive()
                .basic("operator", "wrong")
                .get("/api/clients")
                .then()
                .statusCode(401);
        given().auth()
                .preemptive()
                .basic("someone", "s3cret-pass")
                .get("/")
                .then()
                .statusCode(401);
        given().auth()
                .preemptive()
                .basic("operator", "s3cret-pass")
                .get("/api/clients")
                .then()
                .statusCode(200);
        given().auth()
                .preemptive()
                .basic("operator", "s3cret-pass")
                .get("/")
                .then()
                .statusCode(200);
    }

    @Test
    void probesAndMetricsStayOpen() {
        // without credentials and with wrong ones: the real answers, not a login challenge
        for (var request :
                java.util.List.of(given(), given().auth().preemptive().basic("operator", "wrong"))) {
            request.get("/q/health/live")
                    .then()
                    .statusCode(200)
                    .header("WWW-Authenticate", nullValue())
                    .body("status", equalTo("UP"));
            request.get("/q/health/ready")
                    .then()
                    .statusCode(anyOf(is(200), is(503)))
                    .header("WWW-Authenticate", nullValue())
                    .body("checks.name", hasItem("dynamodb"));
            request.get("/q/metrics")
                    .then()
                    .statusCode(200)
                    .header("WWW-Authenticate", nullValue())
                    .body(containsString("mqtt_dynamo_pending_writes"));
        }
        // the same request on a protected path is refused, so the open answers above are not a filter that is off
        given().get("/api/stats").then().statusCode(401);
    }
}
