package io.mqttdynamo.web;

import static io.restassured.RestAssured.given;

import java.util.HashMap;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.mqttdynamo.support.EmbeddedBrokerProfile;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;

/** With login on, the dashboard and the API want the user's credentials; probes and metrics do not. */
@QuarkusTest
@TestProfile(DashboardAuthTest.WithLogin.class)
class DashboardAuthTest {

    public static class WithLogin extends EmbeddedBrokerProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            Map<String, String> config = new HashMap<>(super.getConfigOverrides());
            config.put("mqtt-dynamo.dashboard.auth.enabled", "true");
            config.put("mqtt-dynamo.dashboard.auth.username", "operator");
            config.put("mqtt-dynamo.dashboard.auth.password", "s3cret-pass");
            return config;
        }
    }

    @Test
    void dashboardAndApiNeedTheCredentials() {
        given().get("/").then().statusCode(401).header("WWW-Authenticate", "Basic realm=\"mqtt-dynamo\", charset=\"UTF-8\"");
        given().get("/api/clients").then().statusCode(401);
        given().get("/fragments/online").then().statusCode(401);
        given().auth().preemptive().basic("operator", "wrong").get("/api/clients").then().statusCode(401);
        given().auth().preemptive().basic("someone", "s3cret-pass").get("/").then().statusCode(401);
        given().auth().preemptive().basic("operator", "s3cret-pass").get("/api/clients").then().statusCode(200);
        given().auth().preemptive().basic("operator", "s3cret-pass").get("/").then().statusCode(200);
    }

    @Test
    void probesAndMetricsStayOpen() {
        given().get("/q/health/live").then().statusCode(200);
        given().get("/q/metrics").then().statusCode(200);
    }
}
