package io.mqttdynamo.bench;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import org.awaitility.core.ConditionTimeoutException;

import io.mqttdynamo.support.LocalDynamoDbResource;

/** A Mosquitto of the benchmark's own, on a free 127.0.0.1 port. */
final class BenchMosquitto implements AutoCloseable {
    final Process process;
    final int port;

    private BenchMosquitto(Process process, int port) {
        this.process = process;
        this.port = port;
    }

    static BenchMosquitto start(Path dir, String name) throws Exception {
        int port = LocalDynamoDbResource.freePort();
        Path conf = dir.resolve("mosquitto-" + name + ".conf");
        // Queue (nearly) without limit for the service's session; in-flight: Mosquitto's default unless set.
        String inflight = System.getProperty("bench.brokerMaxInflight", "");
        Files.writeString(
                conf,
                String.join(
                        "\n",
                        "listener " + port + " 127.0.0.1",
                        "allow_anonymous true",
                        "persistence false",
                        "max_queued_messages 10000000",
                        inflight.isBlank() ? "" : "max_inflight_messages " + inflight,
                        "log_dest stderr",
                        "log_type error",
                        "log_type warning",
                        ""));
        Process process = new ProcessBuilder("/usr/sbin/mosquitto", "-c", conf.toString())
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("mosquitto-" + name + ".log").toFile())
                .start();
        Runtime.getRuntime().addShutdownHook(new Thread(process::destroyForcibly, "mosquitto-stop"));
        try {
            await().atMost(Duration.ofSeconds(15))
                    .pollInterval(Duration.ofMillis(50))
                    .until(() -> BenchSupport.answers(port) || !process.isAlive());
        } catch (ConditionTimeoutException e) {
            // Reported below.
        }
        if (!BenchSupport.answers(port)) {
            process.destroyForcibly();
            throw new IOException(
                    "Mosquitto did not start on port " + port + "; see " + dir.resolve("mosquitto-" + name + ".log"));
        }
        return new BenchMosquitto(process, port);
    }

    @Override
    public void close() throws Exception {
        process.destroy();
        if (!process.waitFor(5, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
    }
}
