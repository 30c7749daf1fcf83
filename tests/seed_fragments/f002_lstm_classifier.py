# seeds/002, 六、2 (1) 文本分类: the LSTM classifier for IMDB
import torch
import torch.nn as nn
# CHANGED: `import torchtext`, the torchtext.datasets/torchtext.data imports, Field/LabelField,
# IMDB.splits, build_vocab and BucketIterator removed: torchtext is not installed, and this
# `Field` API was removed from torchtext in 0.12 (2022), so it fails even where torchtext is.
# The test passes `train_iterator` (batches with .text (seq_len, batch) token ids and .label)
# and `vocab_size`.
import torch.optim as optim  # CHANGED: added; the fragment uses `optim.Adam` without importing it
device = torch.device("cpu")  # CHANGED: added; the fragment uses `device` without defining it

# 定义LSTM模型
class LSTMClassifier(nn.Module):
    def __init__(self, vocab_size, embedding_dim, hidden_dim, output_dim):
        super(LSTMClassifier, self).__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim)  # 嵌入层
        self.lstm = nn.LSTM(embedding_dim, hidden_dim)            # LSTM层
        self.fc = nn.Linear(hidden_dim, output_dim)               # 全连接层
        self.sigmoid = nn.Sigmoid()                               # 激活函数
    def forward(self, text):
        embedded = self.embedding(text)            # [句子长度,批量大小,嵌入维度]
        output, (hidden, cell) = self.lstm(embedded)
        hidden = hidden.squeeze(0)
        out = self.sigmoid(self.fc(hidden))
        return out

# 初始化模型
# CHANGED: `vocab_size = len(TEXT.vocab)` removed; the test passes vocab_size.
embedding_dim = 100
hidden_dim = 256
output_dim = 1
model = LSTMClassifier(vocab_size, embedding_dim, hidden_dim, output_dim).to(device)

# 定义损失函数和优化器
criterion = nn.BCELoss()  # 二分类交叉熵损失
optimizer = optim.Adam(model.parameters())

# 训练模型
# CHANGED: `range(5)` becomes `range(epochs)`, passed by the test.
for epoch in range(epochs):
    for batch in train_iterator:
        optimizer.zero_grad()
        predictions = model(batch.text).squeeze(1)
        loss = criterion(predictions, batch.label)
        loss.backward()
        optimizer.step()
print("训练完成")
