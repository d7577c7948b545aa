package io.mqttdynamo.domain;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class EmqxMsgIdTest {

    /** The msgids of the EMQX documentation's sample items, with the GUIDs they stand for. */
    @ParameterizedTest
    @CsvSource({
        "00058E3CA4B23FBBF44300000D140001, 28846391117174914025578208175587329, Mjg4NDYzOTExMTcxNzQ5MTQwMjU1NzgyMDgxNzU1ODczMjJ",
        "00058E3CCBBD7363F442000008BE0003, 28846403200632420817146069424930819, Mjg4NDY0MDMyMDA2MzI0MjA4MTcxNDYwNjk0MjQ5MzA4MTJ",
        "00058E3E862C90F8F440000012000001, 28846540127337225021197536806830081, Mjg4NDY1NDAxMjczMzcyMjUwMjExOTc1MzY4MDY4MzAwODB"
    })
    void encodesAndDecodesTheDocumentedIds(String hex, String decimal, String msgId) {
        assertThat(new BigInteger(hex, 16)).isEqualTo(new BigInteger(decimal));
        assertThat(EmqxMsgId.fromHex(hex)).isEqualTo(msgId);
        assertThat(EmqxMsgId.decode(msgId)).isEqualTo(new BigInteger(decimal));
    }

    @Test
    void theTimestampOfADocumentedIdIsTheDocumentedArrivalTime() {
        // mqtt_retain's sample item: arrived 1563765995.
        assertThat(EmqxMsgId.timestampMicros("Mjg4NDYzOTExMTcxNzQ5MTQwMjU1NzgyMDgxNzU1ODczMjJ") / 1_000_000)
                .isEqualTo(1563765995L);
    }

    @Test
    void noMsgIdIsLongerThanTheLargestGuids() {
        byte[] largest = new byte[16];
        java.util.Arrays.fill(largest, (byte) 0xFF);
        assertThat(EmqxMsgId.encode(largest)).hasSize(EmqxMsgId.MAX_LENGTH);
        Random random = new Random(7);
        for (int i = 0; i < 10_000; i++) {
            byte[] guid = new byte[16];
            random.nextBytes(guid);
            assertThat(EmqxMsgId.encode(guid).length()).isLessThanOrEqualTo(EmqxMsgId.MAX_LENGTH);
        }
        // Every GUID of 39 decimal digits, from 10^38 up, has the longest form; one digit less, one index less.
        assertThat(EmqxMsgId.encode(BigInteger.TEN.pow(38).toByteArray())).hasSize(EmqxMsgId.MAX_LENGTH);
        assertThat(EmqxMsgId.encode(
                        BigInteger.TEN.pow(38).subtract(BigInteger.ONE).toByteArray()))
                .hasSize(EmqxMsgId.MAX_LENGTH - 1);
    }

    @Test
    void base62RoundTripsEveryRemainderLength() {
        Random random = new Random(42);
        for (int length = 0; length < 64; length++) {
            byte[] data = new byte[length];
            random.nextBytes(data);
            assertThat(EmqxMsgId.unbase62(EmqxMsgId.base62(data))).isEqualTo(data);
        }
        // Indexes 61, 62, 63 are written with the escape '9'.
        assertThat(EmqxMsgId.base62(new byte[] {(byte) 0xF7, (byte) 0xEF, (byte) 0xFF}))
                .isEqualTo("9A9B9C9C");
        assertThat(EmqxMsgId.base62("1".getBytes(StandardCharsets.US_ASCII))).isEqualTo("MB");
    }

    @Test
    void generatedIdsAreUniqueAndOrderedByTime() {
        EmqxMsgId ids = new EmqxMsgId(0x1234_5678_9ABCL);
        List<BigInteger> guids = new ArrayList<>();
        for (int i = 0; i < 10_000; i++) {
            guids.add(EmqxMsgId.decode(ids.next()));
        }
        assertThat(new HashSet<>(guids)).hasSize(guids.size());
        assertThat(guids).isSorted();
        long nowMicros = System.currentTimeMillis() * 1000;
        long stamp = guids.get(guids.size() - 1).shiftRight(64).longValue();
        assertThat(stamp).isBetween(nowMicros - 10_000_000, nowMicros + 10_000_000);
        assertThat(guids.get(0).shiftRight(16).longValue() & 0xFFFF_FFFF_FFFFL).isEqualTo(0x1234_5678_9ABCL);
    }

    @Test
    void idsSortOldestFirstAndForeignIdsLast() {
        EmqxMsgId ids = new EmqxMsgId();
        String first = ids.next();
        String second = ids.next();
        String third = ids.next();
        List<String> sorted = new ArrayList<>(List.of("not-an-emqx-id", third, first, second));
        sorted.sort(EmqxMsgId.OLDEST_FIRST);
        assertThat(sorted).containsExactly(first, second, third, "not-an-emqx-id");
    }

    @Test
    void refusesWhatIsNotAnId() {
        assertThatThrownBy(() -> EmqxMsgId.fromHex("abc")).hasMessageContaining("32 hex digits");
        assertThatThrownBy(() -> EmqxMsgId.decode("Mj9Z")).hasMessageContaining("not an EMQX msgid");
        assertThatThrownBy(() -> EmqxMsgId.decode("a")).hasMessageContaining("not an EMQX msgid");
        assertThatThrownBy(() -> EmqxMsgId.decode("YWJj")).hasMessageContaining("not an EMQX msgid");
    }
}
