# seeds/002, 六、2 (2) 机器翻译: the Seq2Seq core, as written
# 由于篇幅限制,以下是机器翻译模型的核心部分
import torch  # CHANGED: added; Seq2Seq.forward calls torch.stack but the fragment imports only torch.nn
import torch.nn as nn

# 定义编码器
class Encoder(nn.Module):
    def __init__(self, input_dim, emb_dim, hid_dim, n_layers):
        super().__init__()
        self.embedding = nn.Embedding(input_dim, emb_dim)
        self.rnn = nn.LSTM(emb_dim, hid_dim, n_layers)
    def forward(self, src):
        embedded = self.embedding(src)
        outputs, (hidden, cell) = self.rnn(embedded)
        return hidden, cell

# 定义解码器
class Decoder(nn.Module):
    def __init__(self, output_dim, emb_dim, hid_dim, n_layers):
        super().__init__()
        self.embedding = nn.Embedding(output_dim, emb_dim)
        self.rnn = nn.LSTM(emb_dim, hid_dim, n_layers)
        self.fc_out = nn.Linear(hid_dim, output_dim)
    def forward(self, input, hidden, cell):
        input = input.unsqueeze(0)  # 因为解码器一次处理一个词
        embedded = self.embedding(input)
        output, (hidden, cell) = self.rnn(embedded, (hidden, cell))
        prediction = self.fc_out(output.squeeze(0))
        return prediction, hidden, cell

# 定义Seq2Seq模型
class Seq2Seq(nn.Module):
    def __init__(self, encoder, decoder):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder
    def forward(self, src, trg):
        hidden, cell = self.encoder(src)
        outputs = []
        input = trg[0, :]
        for t in range(1, trg.size(0)):
            output, hidden, cell = self.decoder(input, hidden, cell)
            outputs.append(output)
            top1 = output.argmax(1)
            input = top1
        outputs = torch.stack(outputs)
        return outputs
