package io.mqttdynamo.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Wrong settings stop the packaged service at start-up, with the property named, before it takes any
 * message: nothing is acknowledged and dropped because of a typo.
 * <p>
 * The start-up check lists every problem it finds, so one start carries one problem of each kind it checks (a
 * hook line, the broker API, the login, ranges), and each test reads its own in that start's log; a value the
 * configuration cannot convert stops the start before the check, so it has a start of its own.
 */
class ConfigRefusalIT {

    /** The log of the start with every checked problem at once. */
    private static String checkedProblems;

    @BeforeAll
    static void startWithEveryCheckedProblem() throws Exception {
        Map<String, String> problems = new HashMap<>();
        problems.put(
                "BACKEND_DYNAMO_HOOK_MESSAGE_PUBLISH_1",
                "{\"topic\": \"#\", \"action\": {\"function\": \"on_mesage_publish\"}}");
        problems.put("MQTT_DYNAMO_BROKER_API_URL", "http://127.0.0.1:9");
        problems.put("MQTT_DYNAMO_BROKER_API_SECRET", "api-secret-in-env-31d7");
        problems.put("MQTT_DYNAMO_DASHBOARD_AUTH_ENABLED", "true");
        problems.put("MQTT_DYNAMO_STORE_BATCH_SIZE", "30");
        problems.put("MQTT_DYNAMO_BROKER_RECEIVE_MAXIMUM", "70000");
        checkedProblems = refusedWith(problems, "config-refusal-checked");
    }

    /** A service that would otherwise start (nothing it needs is missing but what the test breaks). */
    private static Map<String, String> environment() {
        Map<String, String> env = new HashMap<>();
        env.put("MQTT_DYNAMO_BROKER_HOST", "127.0.0.1");
        env.put("MQTT_DYNAMO_BROKER_PORT", "1883");
        env.put("MQTT_DYNAMO_BROKER_CLIENT_ID", "config-refusal-it");
        env.put("MQTT_DYNAMO_EVENTS_DIALECT", "none");
        env.put("MQTT_DYNAMO_MESSAGES_TOPIC", "config-refusal-it/#");
        env.put("MQTT_DYNAMO_ACKS_TOPIC", "none");
        env.put("QUARKUS_DYNAMODB_ENDPOINT_OVERRIDE", "http://127.0.0.1:9");
        env.put("QUARKUS_DYNAMODB_AWS_REGION", "us-west-2");
        env.put("QUARKUS_DYNAMODB_AWS_CREDENTIALS_TYPE", "static");
        env.put("QUARKUS_DYNAMODB_AWS_CREDENTIALS_STATIC_PROVIDER_ACCESS_KEY_ID", "it");
        env.put("QUARKUS_DYNAMODB_AWS_CREDENTIALS_STATIC_PROVIDER_SECRET_ACCESS_KEY", "it");
        return env;
    }

    /** The log of a start with {@code change}, once the service stopped by itself with a non-zero code. */
    private static String refusedWith(Map<String, String> change, String name) throws Exception {
        Map<String, String> env = environment();
        env.putAll(change);
        try (PackagedService service = PackagedService.start(env, name)) {
            Optional<Integer> exit = service.exitCode(Duration.ofSeconds(60));
            assertThat(exit).as("the service stops by itself").isPresent();
            assertThat(exit.get()).isNotZero();
            return service.log();
        }
    }

    @Test
    void aMisspelledHookFunctionStopsTheStart() {
        assertThat(checkedProblems)
                .contains("backend.dynamo.hook.message.publish.1")
                .contains("on_mesage_publish")
                .contains("on_message_publish");
    }

    @Test
    void aBrokerApiWithoutKeyOrOnADialectWithoutApiStopsTheStartWithoutShowingTheSecret() {
        assertThat(checkedProblems)
                .contains("mqtt-dynamo.broker.api.key and mqtt-dynamo.broker.api.secret must be set")
                .contains("mqtt-dynamo.broker.api.url needs mqtt-dynamo.events.dialect emqx5 or emqx4")
                .doesNotContain("api-secret-in-env-31d7");
    }

    @Test
    void aLoginWithoutPasswordStopsTheStart() {
        assertThat(checkedProblems).contains("mqtt-dynamo.dashboard.auth.password");
    }

    @Test
    void outOfRangeValuesStopTheStartInsteadOfBeingClamped() {
        assertThat(checkedProblems)
                .contains("mqtt-dynamo.store.batch-size = 30: must be from 1 to 25")
                .contains("mqtt-dynamo.broker.receive-maximum = 70000: must be from 1 to 65535");
    }

    @Test
    void anUnknownProtocolVersionStopsTheStart() throws Exception {
        String log = refusedWith(Map.of("MQTT_DYNAMO_BROKER_PROTOCOL_VERSION", "4.2"), "config-refusal-protocol");
        assertThat(log).contains("mqtt-dynamo.broker.protocol-version").contains("must be auto, 5 or 3.1.1");
    }
}
