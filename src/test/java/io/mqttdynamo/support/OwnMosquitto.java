package io.mqttdynamo.support;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A Mosquitto of the test's own on a free port: nothing kept across restarts, and no queue limit, so a
 * slow subscriber is sent everything (Mosquitto's default drops QoS 1 messages past 1,000 queued).
 */
public final class OwnMosquitto {

    private OwnMosquitto() {}

    /** Starts one on {@code port} and waits until it listens. */
    public static Process start(int port) throws IOException {
        Path config = Files.createTempFile("mosquitto-test", ".conf");
        Files.writeString(
                config,
                "listener " + port + " 127.0.0.1\nallow_anonymous true\npersistence false\n"
                        + "max_queued_messages 0\n");
        config.toFile().setReadable(true, false);
        String binary = Files.exists(Path.of("/usr/sbin/mosquitto")) ? "/usr/sbin/mosquitto" : "mosquitto";
        Process process = new ProcessBuilder(binary, "-c", config.toString())
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start();
        await("mosquitto on " + port).atMost(Duration.ofSeconds(10)).until(() -> {
            try (Socket socket = new Socket()) {
                socket.connect(new InetSocketAddress("127.0.0.1", port), 200);
                return true;
            } catch (IOException e) {
                if (!process.isAlive()) {
                    throw new IllegalStateException("mosquitto exited with code " + process.exitValue());
                }
                return false;
            }
        });
        return process;
    }
}
