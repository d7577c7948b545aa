package io.mqttdynamo.store.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

import org.junit.jupiter.api.Test;

import io.mqttdynamo.support.LocalDynamoDbResource;

/**
 * The local server as dev mode and the tests run it: only on a free port, taken over by process id, out of
 * reach of the terminal's Ctrl-C, and never outliving the process that started it.
 */
class DynaliteServerTest {

    private static final Path PACKAGE = Path.of("local-dynamodb");

    @Test
    void aClosedServerIsGone() throws Exception {
        int port = LocalDynamoDbResource.freePort();
        DynaliteServer server = DynaliteServer.start(PACKAGE, "127.0.0.1", port, Optional.empty());
        assertThat(answers(port)).isTrue();
        server.close();
        assertThat(server.isAlive()).isFalse();
        assertThat(answers(port)).isFalse();
    }

    @Test
    void aPortSomethingElseListensOnIsRefusedNotShared() throws Exception {
        try (ServerSocket other = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"))) {
            assertThatThrownBy(() -> DynaliteServer.start(PACKAGE, "127.0.0.1", other.getLocalPort(), Optional.empty()))
                    .isInstanceOf(IOException.class)
                    .hasMessageContaining("127.0.0.1:" + other.getLocalPort())
                    .hasMessageContaining("mqtt-dynamo.local-dynamodb.port");
        }
    }

    @Test
    void theServerEndsOnceTheProcessThatStartedItIsGone() throws Exception {
        Process owner = new ProcessBuilder("sleep", "120").start();
        try (DynaliteServer server = DynaliteServer.start(
                PACKAGE, "127.0.0.1", LocalDynamoDbResource.freePort(), Optional.empty(), owner.pid())) {
            assertThat(server.isAlive()).isTrue();
            owner.destroy();
            await().atMost(Duration.ofSeconds(10)).until(() -> !server.isAlive());
        } finally {
            owner.destroyForcibly();
        }
    }

    @Test
    void anInterruptForTheTerminalsProcessGroupLeavesTheServerRunning() throws Exception {
        int port = LocalDynamoDbResource.freePort();
        try (DynaliteServer server = DynaliteServer.start(PACKAGE, "127.0.0.1", port, Optional.empty())) {
            Path stat = Path.of("/proc", Long.toString(server.pid()), "stat");
            if (Files.exists(stat)) {
                // Linux, with setsid: a process group of its own, which Ctrl-C in the service's terminal misses.
                assertThat(processGroup(stat)).isNotEqualTo(processGroup(Path.of("/proc/self/stat")));
            }
            // Where it shares the group (no setsid), the interrupt reaches it: it stays.
            assertThat(new ProcessBuilder("kill", "-INT", Long.toString(server.pid()))
                            .start()
                            .waitFor())
                    .isZero();
            await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(5)).until(server::isAlive);
            assertThat(answers(port)).isTrue();
        }
    }

    @Test
    void aServerOfThisProcessIsTakenOverByItsProcessId() throws Exception {
        int port = LocalDynamoDbResource.freePort();
        DynaliteServer started = DynaliteServer.start(PACKAGE, "127.0.0.1", port, Optional.empty());
        try {
            Optional<DynaliteServer> taken = DynaliteServer.adopt(started.pid(), "127.0.0.1", port);
            assertThat(taken).isPresent();
            assertThat(taken.get().endpoint()).isEqualTo(started.endpoint());
            taken.get().close();
            assertThat(started.isAlive()).isFalse();
            assertThat(DynaliteServer.adopt(started.pid(), "127.0.0.1", port)).isEmpty();
        } finally {
            started.close();
        }
    }

    private static long processGroup(Path stat) throws IOException {
        String line = Files.readString(stat);
        // pid (comm) state ppid pgrp ...: comm may hold spaces, so count from its closing parenthesis.
        String[] fields = line.substring(line.lastIndexOf(')') + 2).split(" ");
        assumeThat(fields.length).isGreaterThan(2);
        return Long.parseLong(fields[2]);
    }

    private static boolean answers(int port) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 500);
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
