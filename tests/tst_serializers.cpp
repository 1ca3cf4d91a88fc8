// Serialization: the byte writer and reader (varints, strings, overflow and
// failure flags), the default serializers, the registry and the record
// serializer of scenario jobs.

#include <QtTest>

#include <cstdint>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "proto/control.pb.h"
#include "runtime/serialization/bytes.h"
#include "runtime/serialization/type_serializer.h"
#include "sim/record.h"

using sluice::ByteReader;
using sluice::ByteWriter;
using sluice::serializerFor;
using sluice::SerializerRegistry;
using sluice::TypeSerializer;

Q_DECLARE_METATYPE(std::vector<uint8_t>)

namespace {

using Bytes = std::vector<uint8_t>;

// Serializes `value` into a buffer of `capacity` bytes and returns the bytes
// written, or nothing when the value does not fit.
template <class T>
Bytes serialize(const TypeSerializer<T>& serializer, const T& value, size_t capacity = 4096) {
    Bytes buffer(capacity);
    ByteWriter writer(buffer.data(), buffer.size());
    serializer.serialize(value, writer);
    if (writer.overflowed()) {
        return {};
    }
    buffer.resize(writer.position());
    return buffer;
}

// A point with a name: not trivially copyable, so the registry has no default for it.
struct NamedPoint {
    std::string name;
    int32_t x = 0;
    int32_t y = 0;
};

class NamedPointSerializer final : public TypeSerializer<NamedPoint> {
public:
    void serialize(const NamedPoint& value, ByteWriter& out) const override {
        out.writeString(value.name);
        out.writeRaw(value.x);
        out.writeRaw(value.y);
    }
    void deserialize(NamedPoint& value, ByteReader& in) const override {
        in.readString(value.name);
        value.x = in.readRaw<int32_t>();
        value.y = in.readRaw<int32_t>();
    }
    std::string toDisplayString(const NamedPoint& value) const override {
        return value.name + "@" + std::to_string(value.x) + "," + std::to_string(value.y);
    }
};

// Never registered anywhere: serializerFor must reject it.
struct UnregisteredType {
    std::vector<int> values;
};

struct TrivialPair {
    int32_t a;
    int16_t b;
};

}  // namespace

class TstSerializers : public QObject {
    Q_OBJECT

private Q_SLOTS:
    // Varint bytes follow the protobuf base-128 encoding: 7 bits per byte,
    // least significant group first, high bit set on all but the last byte.
    void varintEncoding_data() {
        QTest::addColumn<quint64>("value");
        QTest::addColumn<Bytes>("encoded");
        QTest::newRow("0") << quint64(0) << Bytes{0x00};
        QTest::newRow("1") << quint64(1) << Bytes{0x01};
        QTest::newRow("127") << quint64(127) << Bytes{0x7f};
        QTest::newRow("128") << quint64(128) << Bytes{0x80, 0x01};
        QTest::newRow("300") << quint64(300) << Bytes{0xac, 0x02};
        QTest::newRow("16383") << quint64(16383) << Bytes{0xff, 0x7f};
        QTest::newRow("16384") << quint64(16384) << Bytes{0x80, 0x80, 0x01};
        QTest::newRow("2^32") << (quint64(1) << 32) << Bytes{0x80, 0x80, 0x80, 0x80, 0x10};
        QTest::newRow("max") << std::numeric_limits<quint64>::max()
                             << Bytes{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    }
    void varintEncoding() {
        QFETCH(quint64, value);
        QFETCH(Bytes, encoded);

        Bytes buffer(16);
        ByteWriter writer(buffer.data(), buffer.size());
        writer.writeVarUint(value);
        QVERIFY(!writer.overflowed());
        buffer.resize(writer.position());
        QCOMPARE(buffer, encoded);

        ByteReader reader(encoded.data(), encoded.size());
        QCOMPARE(quint64(reader.readVarUint()), value);
        QVERIFY(!reader.failed());
        QVERIFY(reader.atEnd());
    }

    void stringEncoding() {
        Bytes buffer(16);
        ByteWriter writer(buffer.data(), buffer.size());
        writer.writeString("abc");
        writer.writeString("");
        buffer.resize(writer.position());
        QCOMPARE(buffer, (Bytes{0x03, 'a', 'b', 'c', 0x00}));

        ByteReader reader(buffer.data(), buffer.size());
        std::string first = "stale";
        reader.readString(first);
        QCOMPARE(first, std::string("abc"));
        QCOMPARE(reader.readStringView(), std::string_view(""));
        QVERIFY(!reader.failed());
        QVERIFY(reader.atEnd());
    }

    // A string longer than 127 bytes needs a two-byte length prefix.
    void stringLongLength() {
        const std::string text(200, 'x');
        Bytes buffer(256);
        ByteWriter writer(buffer.data(), buffer.size());
        writer.writeString(text);
        QCOMPARE(writer.position(), size_t(202));
        QCOMPARE(buffer[0], uint8_t(0xc8));  // 200 = 1 * 128 + 0x48, so 0x48 | 0x80, then 1
        QCOMPARE(buffer[1], uint8_t(0x01));

        ByteReader reader(buffer.data(), writer.position());
        QCOMPARE(std::string(reader.readStringView()), text);
        QVERIFY(!reader.failed());
    }

    void writerOverflow() {
        Bytes buffer(6, 0xee);
        ByteWriter writer(buffer.data(), buffer.size());
        writer.writeRaw(uint32_t(0x01020304));
        QVERIFY(!writer.overflowed());
        QCOMPARE(writer.position(), size_t(4));

        writer.writeRaw(uint32_t(0x05060708));
        QVERIFY(writer.overflowed());
        QCOMPARE(writer.position(), size_t(4));
        QCOMPARE(buffer[4], uint8_t(0xee));  // the rejected write left the buffer untouched
        QCOMPARE(buffer[5], uint8_t(0xee));

        // Rolling back clears the flag, and a write that fits succeeds.
        writer.reset(2);
        QVERIFY(!writer.overflowed());
        writer.writeRaw(uint32_t(0x0a0b0c0d));
        QVERIFY(!writer.overflowed());
        QCOMPARE(writer.position(), size_t(6));
    }

    // The length prefix fits but the bytes do not.
    void writerOverflowString() {
        Bytes buffer(4);
        ByteWriter writer(buffer.data(), buffer.size());
        writer.writeString("hello");
        QVERIFY(writer.overflowed());
    }

    void writerExactFit() {
        Bytes buffer(8);
        ByteWriter writer(buffer.data(), buffer.size());
        writer.writeRaw(uint64_t(42));
        QVERIFY(!writer.overflowed());
        QCOMPARE(writer.position(), size_t(8));
    }

    void readerTruncatedRaw() {
        const Bytes bytes{0x01, 0x02};
        ByteReader reader(bytes.data(), bytes.size());
        QCOMPARE(reader.readRaw<uint32_t>(), uint32_t(0));
        QVERIFY(reader.failed());
        QCOMPARE(reader.position(), size_t(0));
    }

    void readerTruncatedVarint() {
        const Bytes bytes{0x80, 0x80};
        ByteReader reader(bytes.data(), bytes.size());
        QCOMPARE(reader.readVarUint(), uint64_t(0));
        QVERIFY(reader.failed());
    }

    // Eleven continuation bytes encode more than 64 bits.
    void readerOverlongVarint() {
        const Bytes bytes(11, 0x80);
        ByteReader reader(bytes.data(), bytes.size());
        reader.readVarUint();
        QVERIFY(reader.failed());
    }

    void readerTruncatedString() {
        const Bytes bytes{0x05, 'a', 'b'};
        ByteReader reader(bytes.data(), bytes.size());
        std::string out = "stale";
        reader.readString(out);
        QVERIFY(reader.failed());
        QVERIFY(out.empty());

        ByteReader view_reader(bytes.data(), bytes.size());
        QVERIFY(view_reader.readStringView().empty());
        QVERIFY(view_reader.failed());
    }

    void readerEmptyInput() {
        ByteReader reader(std::string_view{});
        QVERIFY(reader.atEnd());
        QCOMPARE(reader.remaining(), size_t(0));
        reader.readVarUint();
        QVERIFY(reader.failed());
    }

    void trivialRoundTrip_data() {
        QTest::addColumn<qint64>("value");
        QTest::newRow("zero") << qint64(0);
        QTest::newRow("negative") << qint64(-1);
        QTest::newRow("min") << std::numeric_limits<qint64>::min();
        QTest::newRow("max") << std::numeric_limits<qint64>::max();
    }
    void trivialRoundTrip() {
        QFETCH(qint64, value);
        const sluice::TrivialSerializer<int64_t> serializer;
        const Bytes bytes = serialize<int64_t>(serializer, value);
        QCOMPARE(bytes.size(), size_t(8));

        ByteReader reader(bytes.data(), bytes.size());
        int64_t out = 7;
        serializer.deserialize(out, reader);
        QVERIFY(!reader.failed());
        QCOMPARE(out, int64_t(value));
        QCOMPARE(serializer.toDisplayString(value), std::to_string(value));
    }

    void trivialStruct() {
        const sluice::TrivialSerializer<TrivialPair> serializer;
        const TrivialPair value{-5, 9};
        const Bytes bytes = serialize<TrivialPair>(serializer, value);
        QCOMPARE(bytes.size(), sizeof(TrivialPair));

        ByteReader reader(bytes.data(), bytes.size());
        TrivialPair out{};
        serializer.deserialize(out, reader);
        QVERIFY(!reader.failed());
        QCOMPARE(out.a, -5);
        QCOMPARE(out.b, int16_t(9));
        QCOMPARE(serializer.toDisplayString(value),
                 "<" + std::to_string(sizeof(TrivialPair)) + " bytes>");
    }

    void trivialTruncated() {
        const sluice::TrivialSerializer<double> serializer;
        const Bytes bytes = serialize<double>(serializer, 2.5);
        ByteReader reader(bytes.data(), bytes.size() - 1);
        double out = 1.0;
        serializer.deserialize(out, reader);
        QVERIFY(reader.failed());
    }

    // Includes an embedded NUL and non-ASCII bytes, which must survive unchanged.
    void stringSerializerRoundTrip() {
        const sluice::StringSerializer serializer;
        const std::string value("a\0b\xc3\xa9", 5);
        const Bytes bytes = serialize<std::string>(serializer, value);
        QCOMPARE(bytes.size(), size_t(6));

        ByteReader reader(bytes.data(), bytes.size());
        std::string out;
        serializer.deserialize(out, reader);
        QVERIFY(!reader.failed());
        QCOMPARE(out, value);
        QCOMPARE(serializer.toDisplayString("word"), std::string("word"));
    }

    void pairRoundTrip() {
        using Pair = std::pair<std::string, int64_t>;
        const auto serializer = serializerFor<Pair>();
        QVERIFY(serializer);
        using Expected = sluice::PairSerializer<std::string, int64_t>;
        QVERIFY(dynamic_cast<const Expected*>(serializer.get()));

        const Pair value{"key", -3};
        const Bytes bytes = serialize<Pair>(*serializer, value);
        // Length 3, "key", then the 8 bytes of -3 in the host's (little-endian) order.
        const Bytes expected{0x03, 'k', 'e', 'y', 0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
        QCOMPARE(bytes, expected);

        ByteReader reader(bytes.data(), bytes.size());
        Pair out;
        serializer->deserialize(out, reader);
        QVERIFY(!reader.failed());
        QCOMPARE(out.first, value.first);
        QCOMPARE(out.second, value.second);
        QCOMPARE(serializer->toDisplayString(value), std::string("(key, -3)"));
    }

    void pairTruncated() {
        using Pair = std::pair<std::string, int64_t>;
        const auto serializer = serializerFor<Pair>();
        const Bytes bytes = serialize<Pair>(*serializer, Pair{"key", 1});
        for (size_t length = 0; length < bytes.size(); ++length) {
            ByteReader reader(bytes.data(), length);
            Pair out;
            serializer->deserialize(out, reader);
            if (!reader.failed()) {
                QFAIL(qPrintable(QString("prefix of %1 bytes read without failure").arg(length)));
            }
        }
    }

    void protobufRoundTrip() {
        sluice::control::Envelope message;
        message.set_from_node(3);
        auto* deploy = message.mutable_deploy_task();
        deploy->set_vertex(2);
        deploy->set_subtask(5);
        deploy->set_slot(1);
        deploy->set_attempt(7);

        const auto serializer = serializerFor<sluice::control::Envelope>();
        QVERIFY(dynamic_cast<const sluice::ProtobufSerializer<sluice::control::Envelope>*>(
            serializer.get()));
        const Bytes bytes = serialize<sluice::control::Envelope>(*serializer, message);
        QVERIFY(!bytes.empty());
        // A varint length prefix (one byte for short messages), then the wire format.
        QCOMPARE(size_t(bytes[0]), bytes.size() - 1);

        ByteReader reader(bytes.data(), bytes.size());
        sluice::control::Envelope out;
        serializer->deserialize(out, reader);
        QVERIFY(!reader.failed());
        QVERIFY(reader.atEnd());
        QCOMPARE(out.from_node(), 3);
        QCOMPARE(out.payload_case(), sluice::control::Envelope::kDeployTask);
        QCOMPARE(out.deploy_task().vertex(), 2);
        QCOMPARE(out.deploy_task().subtask(), 5);
        QCOMPARE(out.deploy_task().slot(), 1);
        QCOMPARE(out.deploy_task().attempt(), int64_t(7));
        QCOMPARE(out.SerializeAsString(), message.SerializeAsString());

        const std::string display = serializer->toDisplayString(message);
        QVERIFY2(display.find("from_node: 3") != std::string::npos, display.c_str());
    }

    void protobufTruncated() {
        sluice::control::Envelope message;
        message.set_from_node(300);
        const auto serializer = serializerFor<sluice::control::Envelope>();
        const Bytes bytes = serialize<sluice::control::Envelope>(*serializer, message);
        ByteReader reader(bytes.data(), bytes.size() - 1);
        sluice::control::Envelope out;
        serializer->deserialize(out, reader);
        QVERIFY(reader.failed());
    }

    // A well-framed payload that is not a valid message: field 1 declared as
    // a varint whose bytes never terminate.
    void protobufMalformed() {
        const Bytes bytes{0x03, 0x08, 0xff, 0xff};
        const auto serializer = serializerFor<sluice::control::Envelope>();
        ByteReader reader(bytes.data(), bytes.size());
        sluice::control::Envelope out;
        serializer->deserialize(out, reader);
        QVERIFY(reader.failed());
    }

    void registryCustomType() {
        auto custom = std::make_shared<NamedPointSerializer>();
        SerializerRegistry::instance().registerSerializer<NamedPoint>(custom);

        const auto found = serializerFor<NamedPoint>();
        QCOMPARE(found.get(), static_cast<const TypeSerializer<NamedPoint>*>(custom.get()));

        const NamedPoint value{"origin", -1, 2};
        const Bytes bytes = serialize<NamedPoint>(*found, value);
        ByteReader reader(bytes.data(), bytes.size());
        NamedPoint out;
        found->deserialize(out, reader);
        QVERIFY(!reader.failed());
        QCOMPARE(out.name, value.name);
        QCOMPARE(out.x, value.x);
        QCOMPARE(out.y, value.y);
        QCOMPARE(found->toDisplayString(value), std::string("origin@-1,2"));
    }

    // A registered serializer wins over the default for a pair component.
    void registryCustomInPair() {
        SerializerRegistry::instance().registerSerializer<NamedPoint>(
            std::make_shared<NamedPointSerializer>());
        const auto serializer = serializerFor<std::pair<NamedPoint, int32_t>>();
        QCOMPARE(serializer->toDisplayString({NamedPoint{"p", 1, 2}, 4}),
                 std::string("(p@1,2, 4)"));
    }

    void registryUnregisteredThrows() {
        try {
            serializerFor<UnregisteredType>();
            QFAIL("serializerFor accepted a type without a serializer");
        } catch (const std::logic_error& error) {
            const std::string message = error.what();
            QVERIFY2(message.find("registerSerializer") != std::string::npos, error.what());
            QVERIFY2(message.find(typeid(UnregisteredType).name()) != std::string::npos,
                     error.what());
        }
    }

    void recordRoundTrip() {
        const sluice::sim::RecordSerializer serializer;
        const sluice::sim::Record record{0x1122334455667788ull, "word-7", -42};
        const Bytes bytes = serialize<sluice::sim::Record>(serializer, record);
        // id (8) + length prefix (1) + "word-7" (6) + value (8).
        QCOMPARE(bytes.size(), size_t(23));
        QCOMPARE(bytes[0], uint8_t(0x88));  // id, least significant byte first
        QCOMPARE(bytes[8], uint8_t(6));
        QCOMPARE(bytes[9], uint8_t('w'));

        ByteReader reader(bytes.data(), bytes.size());
        sluice::sim::Record out;
        serializer.deserialize(out, reader);
        QVERIFY(!reader.failed());
        QVERIFY(reader.atEnd());
        QCOMPARE(out.id, record.id);
        QCOMPARE(out.key, record.key);
        QCOMPARE(out.value, record.value);
        QCOMPARE(serializer.toDisplayString(record),
                 std::string("{id=1234605616436508552 key=word-7 value=-42}"));
    }

    // Every strict prefix of a record is an incomplete record.
    void recordTruncated() {
        const sluice::sim::RecordSerializer serializer;
        const Bytes bytes = serialize<sluice::sim::Record>(serializer, {9, "abc", 5});
        for (size_t length = 0; length < bytes.size(); ++length) {
            ByteReader reader(bytes.data(), length);
            sluice::sim::Record out;
            serializer.deserialize(out, reader);
            if (!reader.failed()) {
                QFAIL(qPrintable(QString("prefix of %1 bytes read without failure").arg(length)));
            }
        }
    }

    // Several records back to back in one buffer read back in order.
    void recordSequence() {
        const sluice::sim::RecordSerializer serializer;
        Bytes buffer(256);
        ByteWriter writer(buffer.data(), buffer.size());
        for (int i = 0; i < 5; ++i) {
            serializer.serialize({uint64_t(i), "k" + std::to_string(i), i * 10}, writer);
        }
        QVERIFY(!writer.overflowed());

        ByteReader reader(buffer.data(), writer.position());
        for (int i = 0; i < 5; ++i) {
            sluice::sim::Record out;
            serializer.deserialize(out, reader);
            QCOMPARE(out.id, uint64_t(i));
            QCOMPARE(out.key, "k" + std::to_string(i));
            QCOMPARE(out.value, int64_t(i * 10));
        }
        QVERIFY(!reader.failed());
        QVERIFY(reader.atEnd());
    }

    void recordRegistered() {
        sluice::sim::registerRecordSerializer();
        sluice::sim::registerRecordSerializer();  // idempotent
        const auto serializer = serializerFor<sluice::sim::Record>();
        QVERIFY(dynamic_cast<const sluice::sim::RecordSerializer*>(serializer.get()));
    }
};

QTEST_GUILESS_MAIN(TstSerializers)
#include "tst_serializers.moc"
