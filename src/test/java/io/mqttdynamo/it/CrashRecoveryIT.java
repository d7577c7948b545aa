package io.mqttdynamo.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.mqttdynamo.store.local.DynaliteServer;
import io.mqttdynamo.support.LocalDynamoDbResource;
import io.mqttdynamo.support.PrometheusText;
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
    private final HttpClient http = HttpClient.newHttpClient();
    private final List<Process> processes = new java.util.ArrayList<>();
    private DynaliteServer dynamo;

    @AfterEach
    void stopAll() {
        processes.forEach(Process::destroyForcibly);
        if (dynamo != null) {
            dynamo.close();
        }
    }

    @Test
    void aMessageReceivedButNotStoredWhenTheServiceIsKilledIsStoredAfterRestart() throws Exception {
        String run = UUID.randomUUID().toString().substring(0, 8);
        int dynamoPort = LocalDynamoDbResource.freePort();
        String topic = "crash-it/" + run + "/sensor";
        Map<String, String> env = new HashMap<>();
        env.put("MQTT_DYNAMO_BROKER_HOST", "127.0.0.1");
        env.put("MQTT_DYNAMO_BROKER_PORT", "1883");
        env.put("MQTT_DYNAMO_BROKER_CLIENT_ID", "crash-it-" + run);
        env.put("MQTT_DYNAMO_BROKER_SESSION_EXPIRY", "PT5M");
        env.put("MQTT_DYNAMO_EVENTS_DIALECT", "none");
        env.put("MQTT_DYNAMO_MESSAGES_MODE", "raw");
        env.put("MQTT_DYNAMO_MESSAGES_TOPIC", "crash-it/" + run + "/#");
        env.put("MQTT_DYNAMO_ACKS_TOPIC", "");
        env.put("QUARKUS_DYNAMODB_ENDPOINT_OVERRIDE", "http://127.0.0.1:" + dynamoPort);
        env.put("QUARKUS_DYNAMODB_AWS_REGION", "us-west-2");
        env.put("QUARKUS_DYNAMODB_AWS_CREDENTIALS_TYPE", "static");
        env.put("QUARKUS_DYNAMODB_AWS_CREDENTIALS_STATIC_PROVIDER_ACCESS_KEY_ID", "it");
        env.put("QUARKUS_DYNAMODB_AWS_CREDENTIALS_STATIC_PROVIDER_SECRET_ACCESS_KEY", "it-secret-value");
        env.put("MQTT_DYNAMO_DASHBOARD_AUTH_ENABLED", "true");
        env.put("MQTT_DYNAMO_DASHBOARD_AUTH_PASSWORD", "it-dashboard-secret");

        // 1. DynamoDB is down: the service subscribes, receives, and cannot store.
        int httpPort = LocalDynamoDbResource.freePort();
        Process first = start(env, httpPort, "crash-it-first.log");
        await("subscribed").atMost(TIMEOUT).until(() -> get(httpPort, "/q/health/ready")
                .filter(body -> body.contains("\"messages\": \"connected as crash-it-" + run)).isPresent());
        assertThat(get(httpPort, "/q/health/ready").orElseThrow()).doesNotContain("acks");
        try (TestMqttClient publisher = TestMqttClient.connect("crash-pub-" + run, 1883)) {
            publisher.publish(topic, "survives a crash", 1, false);
        }
        await("received, not stored").atMost(TIMEOUT).until(() -> get(httpPort, "/q/metrics")
                .map(m -> PrometheusText.value(m, "mqtt_dynamo_events_received_total{channel=\"messages\"}") >= 1
                        && PrometheusText.value(m, "mqtt_dynamo_pending_writes") >= 2)
                .orElse(false));

        // 2. Killed before the write: no chance to acknowledge or to drain.
        first.destroyForcibly().waitFor();

        // 3. DynamoDB comes back and the service restarts with the same session.
        dynamo = DynaliteServer.start(Path.of("local-dynamodb"), "127.0.0.1", dynamoPort, Optional.empty());
        int secondPort = LocalDynamoDbResource.freePort();
        Process second = start(env, secondPort, "crash-it-second.log");
        try (DynamoDbAsyncClient client = DynamoDbAsyncClient.builder()
                .endpointOverride(URI.create(dynamo.endpoint()))
                .region(Region.US_WEST_2)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("it", "it")))
                .httpClientBuilder(NettyNioAsyncHttpClient.builder())
                .build()) {
            TableReader tables = new TableReader(client);
            String msgId = await("stored after restart").atMost(TIMEOUT).ignoreExceptions()
                    .until(() -> tables.topicMsgIds(topic), ids -> !ids.isEmpty()).get(0);
            // The message item and the topic's id set are separate writes: wait for both.
            var message = await("message item").atMost(TIMEOUT)
                    .until(() -> tables.item("mqtt_msg", "msgid", msgId), java.util.Optional::isPresent).orElseThrow();
            assertThat(message.get("payload").s()).isEqualTo("survives a crash");
        }

        // A clean stop (SIGTERM) ends the process; secrets never reach the log; nothing embedded ran.
        second.destroy();
        assertThat(second.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        assertThat(java.nio.file.Files.readString(Path.of("target", "crash-it-second.log")))
                .contains("MQTT channel messages connected")
                .contains("Profile prod activated")
                .as("nothing embedded in production")
                .doesNotContain("embedded MQTT broker")
                .doesNotContain("local DynamoDB-compatible server")
                .doesNotContain("it-secret-value")
                .doesNotContain("it-dashboard-secret");
    }

    private Process start(Map<String, String> env, int httpPort, String log) throws IOException {
        ProcessBuilder builder = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-jar", Path.of("target", "quarkus-app", "quarkus-run.jar").toString())
                .redirectErrorStream(true)
                .redirectOutput(new File("target", log));
        builder.environment().putAll(env);
        builder.environment().put("QUARKUS_HTTP_PORT", Integer.toString(httpPort));
        Process process = builder.start();
        processes.add(process);
        return process;
    }

    private Optional<String> get(int port, String path) {
        try {
            HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                    .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
            return Optional.of(response.body());
        } catch (IOException e) {
            return Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        }
    }
}
