package io.mqttdynamo.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.mqttdynamo.ingest.IngestChannels;
import io.mqttdynamo.store.local.DynaliteServer;
import io.mqttdynamo.support.LocalDynamoDbResource;
import io.mqttdynamo.support.TableReader;
import io.mqttdynamo.support.TestMqttClient;

import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.http.nio.netty.NettyNioAsyncHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClient;

/**
 * At-least-once across a crash, with the packaged application run as users run it ({@code java -jar}
 * and environment variables) against the machine's Mosquitto: a QoS 1 message is received while DynamoDB
 * is down, the process is killed (SIGKILL) before it could store it, and after a restart with DynamoDB
 * back the broker redelivers it and it is stored.
 */
class CrashRecoveryIT {

    private static final Duration TIMEOUT = Duration.ofSeconds(60);
    private final java.util.List<PackagedService> services = new java.util.ArrayList<>();
    private DynaliteServer dynamo;

    @AfterEach
    void stopAll() {
        services.forEach(PackagedService::close);
        if (dynamo != null) {
            dynamo.close();
        }
    }

    @Test
    void aMessageReceivedButNotStoredWhenTheServiceIsKilledIsStoredAfterRestart() throws Exception {
        String run = UUID.randomUUID().toString().substring(0, 8);
        int dynamoPort = LocalDynamoDbResource.freePort();
        String topic = "crash-it/" + run + "/sensor";
        String clientId = "crash-it-" + run;
        Map<String, String> env = environment(clientId, 1883, "crash-it/" + run + "/#", dynamoPort);
        env.put("MQTT_DYNAMO_DASHBOARD_AUTH_ENABLED", "true");
        env.put("MQTT_DYNAMO_DASHBOARD_AUTH_PASSWORD", "it-dashboard-secret");

        // 1. DynamoDB is down: the service subscribes, receives, and cannot store.
        PackagedService first = started(PackagedService.start(env, "crash-it-first"));
        await("subscribed").atMost(TIMEOUT).until(() -> first.channelConnected(IngestChannels.MESSAGES, clientId));
        assertThat(first.get("/q/health/ready").orElseThrow()).doesNotContain(IngestChannels.ACKS);
        try (TestMqttClient publisher = TestMqttClient.connect("crash-pub-" + run, 1883)) {
            publisher.publish(topic, "survives a crash", 1, false);
        }
        await("received, not stored")
                .atMost(TIMEOUT)
                .until(() -> first.metric("mqtt_dynamo_events_received_total{channel=\"messages\"}") >= 1
                        && first.metric("mqtt_dynamo_pending_writes") >= 2);

        // 2. Killed before the write: no chance to acknowledge or to drain.
        first.kill();

        // 3. DynamoDB comes back and the service restarts with the same session.
        dynamo = DynaliteServer.start(Path.of("local-dynamodb"), "127.0.0.1", dynamoPort, Optional.empty());
        PackagedService second = started(PackagedService.start(env, "crash-it-second"));
        try (DynamoDbAsyncClient client = dynamoClient(dynamo)) {
            TableReader tables = new TableReader(client);
            String msgId = await("stored after restart")
                    .atMost(TIMEOUT)
                    .ignoreExceptions()
                    .until(() -> tables.topicMsgIds(topic), ids -> !ids.isEmpty())
                    .get(0);
            // The message item and the topic's id set are separate writes: wait for both.
            var message = await("message item")
                    .atMost(TIMEOUT)
                    .until(() -> tables.item("mqtt_msg", "msgid", msgId), Optional::isPresent)
                    .orElseThrow();
            assertThat(message.get("payload").s()).isEqualTo("survives a crash");
        }

        // A clean stop (SIGTERM) ends the process; secrets never reach the log; nothing embedded ran.
        assertThat(second.stop()).isTrue();
        assertThat(second.log())
                .contains("MQTT channel messages connected")
                .contains("Profile prod activated")
                .doesNotContain("it-secret-value")
                .doesNotContain("it-dashboard-secret")
                .as("nothing embedded in production")
                .doesNotContain("embedded MQTT broker")
                .doesNotContain("local DynamoDB-compatible server");
    }

    /** The service's settings for one run, the way a deployment gives them. */
    static Map<String, String> environment(String clientId, int brokerPort, String topic, int dynamoPort) {
        Map<String, String> env = new HashMap<>();
        env.put("MQTT_DYNAMO_BROKER_HOST", "127.0.0.1");
        env.put("MQTT_DYNAMO_BROKER_PORT", Integer.toString(brokerPort));
        env.put("MQTT_DYNAMO_BROKER_CLIENT_ID", clientId);
        env.put("MQTT_DYNAMO_BROKER_SESSION_EXPIRY", "PT5M");
        env.put("MQTT_DYNAMO_EVENTS_DIALECT", "none");
        env.put("MQTT_DYNAMO_MESSAGES_MODE", "raw");
        env.put("MQTT_DYNAMO_MESSAGES_TOPIC", topic);
        env.put("MQTT_DYNAMO_ACKS_TOPIC", "");
        env.put("QUARKUS_DYNAMODB_ENDPOINT_OVERRIDE", "http://127.0.0.1:" + dynamoPort);
        env.put("QUARKUS_DYNAMODB_AWS_REGION", "us-west-2");
        env.put("QUARKUS_DYNAMODB_AWS_CREDENTIALS_TYPE", "static");
        env.put("QUARKUS_DYNAMODB_AWS_CREDENTIALS_STATIC_PROVIDER_ACCESS_KEY_ID", "it");
        env.put("QUARKUS_DYNAMODB_AWS_CREDENTIALS_STATIC_PROVIDER_SECRET_ACCESS_KEY", "it-secret-value");
        return env;
    }

    static DynamoDbAsyncClient dynamoClient(DynaliteServer server) {
        return DynamoDbAsyncClient.builder()
                .endpointOverride(URI.create(server.endpoint()))
                .region(Region.US_WEST_2)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("it", "it")))
                .httpClientBuilder(NettyNioAsyncHttpClient.builder())
                .build();
    }

    private PackagedService started(PackagedService service) {
        services.add(service);
        return service;
    }
}
