package io.mqttdynamo.store.local;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Optional;

import org.junit.jupiter.api.Test;

import io.mqttdynamo.support.LocalDynamoDbResource;

/** Starting and closing the local server again and again (as dev mode restarts do) leaves nothing behind. */
class DynaliteServerTest {

    @Test
    void closedServersAreNotKeptForTheShutdownHook() throws Exception {
        int before = DynaliteServer.runningCount();
        for (int restart = 0; restart < 3; restart++) {
            try (DynaliteServer server = DynaliteServer.start(Path.of("local-dynamodb"), "127.0.0.1",
                    LocalDynamoDbResource.freePort(), Optional.empty())) {
                assertThat(DynaliteServer.runningCount()).isEqualTo(before + 1);
            }
            assertThat(DynaliteServer.runningCount()).as("after restart %d", restart).isEqualTo(before);
        }
    }
}
