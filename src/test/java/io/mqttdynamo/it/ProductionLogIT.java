package io.mqttdynamo.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.mqttdynamo.ingest.IngestChannels;
import io.mqttdynamo.support.TableReader;
import io.mqttdynamo.support.TestMqttClient;

import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClient;

/**
 * The packaged service's log in production: one JSON object per line, with the channel and client id of the lines
 * about a channel as fields, and none of the secrets it was given (broker password, broker API secret, AWS secret
 * key, dashboard password) in any line, at DEBUG for the service's own classes, through a start, a stored message,
 * refused and accepted logins and a stop.
 */
class ProductionLogIT {

    private static final Duration TIMEOUT = Duration.ofSeconds(60);
    private static final ObjectMapper JSON = new ObjectMapper();
    private TestBed bed;

    @AfterEach
    void stopAll() {
        if (bed != null) {
            bed.close();
        }
    }

    @Test
    void theLogIsJsonWithTheChannelAsAFieldAndWithoutSecrets() throws Exception {
        String run = UUID.randomUUID().toString().substring(0, 8);
        bed = TestBed.start();
        String clientId = "prodlog-it-" + run;
        Map<String, String> secrets = Map.of(
                "MQTT_DYNAMO_BROKER_PASSWORD", "broker-secret-" + run,
                "MQTT_DYNAMO_BROKER_API_SECRET", "api-secret-" + run,
                "QUARKUS_DYNAMODB_AWS_CREDENTIALS_STATIC_PROVIDER_SECRET_ACCESS_KEY", "aws-secret-" + run,
                "MQTT_DYNAMO_DASHBOARD_AUTH_PASSWORD", "dashboard-secret-" + run);
        Map<String, String> env = new java.util.HashMap<>(bed.environment(clientId, "prodlog/" + run + "/#"));
        env.putAll(secrets);
        env.put("MQTT_DYNAMO_BROKER_USERNAME", "prodlog");
        // The broker API is set (its secret is a setting like the others); EMQX 5 events that never come on
        // Mosquitto leave it unused.
        env.put("MQTT_DYNAMO_EVENTS_DIALECT", "emqx5");
        env.put("MQTT_DYNAMO_BROKER_API_URL", "http://127.0.0.1:9");
        env.put("MQTT_DYNAMO_BROKER_API_KEY", "prodlog-key");
        env.put("MQTT_DYNAMO_DASHBOARD_AUTH_ENABLED", "true");
        env.put("QUARKUS_LOG_CATEGORY__IO_MQTTDYNAMO__LEVEL", "DEBUG");
        PackagedService service = bed.service(env, "prodlog-it");
        await("subscribed").atMost(TIMEOUT).until(() -> service.channelConnected(IngestChannels.MESSAGES, clientId));

        String topic = "prodlog/" + run + "/sensor";
        try (TestMqttClient publisher = TestMqttClient.connect("prodlog-pub-" + run, bed.brokerPort);
                DynamoDbAsyncClient client = CrashRecoveryIT.dynamoClient(bed.dynamo())) {
            publisher.publish(topic, "logged", 1, false);
            TableReader tables = new TableReader(client);
            await("stored")
                    .atMost(TIMEOUT)
                    .ignoreExceptions()
                    .until(() -> !tables.topicMsgIds(topic).isEmpty());
        }
        assertThat(service.status("/api/clients", "admin:wrong-" + run)).isEqualTo(401);
        assertThat(service.status("/api/clients", "admin:dashboard-secret-" + run))
                .isEqualTo(200);
        assertThat(service.stop()).isTrue();

        String log = service.log();
        List<JsonNode> lines = new ArrayList<>();
        for (String line : log.lines().filter(line -> !line.isBlank()).toList()) {
            JsonNode record = JSON.readTree(line);
            assertThat(record.isObject()).as(line).isTrue();
            assertThat(record.path("timestamp").asText()).as(line).isNotEmpty();
            assertThat(record.path("level").asText()).as(line).isNotEmpty();
            assertThat(record.path("loggerName").asText()).as(line).isNotEmpty();
            assertThat(record.has("message")).as(line).isTrue();
            lines.add(record);
        }
        assertThat(lines)
                .anySatisfy(
                        record -> assertThat(record.path("message").asText()).startsWith("Profile prod activated"));
        JsonNode connected = lines.stream()
                .filter(record -> record.path("message").asText().startsWith("MQTT channel messages connected as"))
                .findFirst()
                .orElseThrow();
        assertThat(connected.path("loggerName").asText()).isEqualTo("io.mqttdynamo.broker.ChannelSession");
        assertThat(connected.path("mdc").path("channel").asText()).isEqualTo(IngestChannels.MESSAGES);
        assertThat(connected.path("mdc").path("clientId").asText()).isEqualTo(clientId + "-messages");
        // The fields are the line's own: the next lines of the same thread do not inherit them.
        assertThat(lines)
                .anySatisfy(record -> assertThat(record.path("loggerName").asText())
                        .startsWith("io.mqttdynamo")
                        .isNotEqualTo("io.mqttdynamo.broker.ChannelSession"));
        lines.stream()
                .filter(record -> !record.path("loggerName").asText().startsWith("io.mqttdynamo.broker.Channel")
                        && !record.path("loggerName").asText().startsWith("io.mqttdynamo.ingest"))
                .forEach(record -> assertThat(record.path("mdc").path("channel").isMissingNode())
                        .as(record.toString())
                        .isTrue());
        assertThat(lines.stream().filter(record -> record.path("level").asText().equals("DEBUG")))
                .isNotEmpty();
        secrets.values()
                .forEach(secret -> assertThat(log).as("the log holds no secret").doesNotContain(secret));
    }
}
